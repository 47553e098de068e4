import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { secretChecks } from '../../src/cli/commands/doctor';
import { lookUpSecrets } from '../../src/config/secrets';
import { prepareSecrets } from '../../src/harnesses/secret-grants';
import { compilePolicy, PolicyUnsupportedError } from '../../src/policies/compile';
import { Redactor } from '../../src/policies/secrets';
import type { ToolGrant } from '../../src/shapes/tool-grants';
import { Catalog } from '../../src/sop/catalog';
import { planFromBundle } from '../../src/sop/plan-from-bundle';
import { skillHash } from '../../src/sop/toolbelt-checks';

// Secrets and skills below the harnesses: what the compiler puts in the plan, what the worker looks up,
// what the launch writes and how each harness is told to hide it, what sop doctor says.

// biome-ignore lint/suspicious/noTemplateCurlyInString: how an SOP refers to a secret
const REF = '${{ secrets.TRACKER_TOKEN }}';
const SKILL = (name: string, description: string) =>
  `---\nname: ${name}\ndescription: ${description}\n---\n\nDo it well.\n`;

function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-toolbelt-'));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

const SOP = [
  'name: notes',
  'secrets: [TRACKER_TOKEN]',
  'mcp_servers:',
  `  tracker: { command: node, args: [tracker.js], env: { TOKEN: '${REF}', MODE: plain } }`,
  'steps:',
  '  write:',
  '    prompt: p.md',
  '    skills: [release-notes, house-style]',
  '    tools: { tracker: [get_issue] }',
  '    routes: { done: check }',
  '  check:',
  '    run: ./check',
  `    env: { TOKEN: '${REF}' }`,
  '    routes: { passed: finish }',
  '',
].join('\n');

describe('skills', () => {
  test("a step's skills come from beside sop.yaml or else the project's skills/ folder, into the plan with their hash; changing one changes the bundle", () => {
    const dir = project({
      'sops/notes/sop.yaml': SOP,
      'sops/notes/p.md': 'Write notes.\n',
      'sops/notes/skills/release-notes/SKILL.md': SKILL('release-notes', 'writes release notes'),
      'sops/notes/skills/release-notes/templates/entry.md': '- {change}\n',
      'skills/house-style/SKILL.md': SKILL('house-style', 'the house style'),
      // the SOP's own wins over the project's of the same name
      'skills/release-notes/SKILL.md': SKILL('release-notes', 'the project one'),
    });
    const catalog = new Catalog({ projectDir: dir });
    const compiled = catalog.compile(catalog.find('notes')!);
    expect(compiled.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const role = planFromBundle(compiled.bundle!).steps[0].agent!;
    const notes = {
      'SKILL.md': SKILL('release-notes', 'writes release notes'),
      'templates/entry.md': '- {change}\n',
    };
    const style = { 'SKILL.md': SKILL('house-style', 'the house style') };
    expect(role.skills).toEqual([
      { name: 'release-notes', sha256: skillHash(notes), files: notes },
      { name: 'house-style', sha256: skillHash(style), files: style },
    ]);
    fs.appendFileSync(path.join(dir, 'skills/house-style/SKILL.md'), 'And be brief.\n');
    expect(new Catalog({ projectDir: dir }).compile(catalog.find('notes')!).bundle!.hash).not.toBe(
      compiled.bundle!.hash,
    );
  });

  test('a skill folder with a binary file is refused (SOP293), naming the file', () => {
    const dir = project({
      'sops/notes/sop.yaml': SOP,
      'sops/notes/p.md': 'Write notes.\n',
      'sops/notes/skills/release-notes/SKILL.md': SKILL('release-notes', 'writes release notes'),
      'sops/notes/skills/release-notes/logo.png': '\u0000PNG',
      'skills/house-style/SKILL.md': SKILL('house-style', 'the house style'),
    });
    const catalog = new Catalog({ projectDir: dir });
    const errors = catalog.compile(catalog.find('notes')!).diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => [d.code, d.message])).toEqual([
      ['SOP293', 'skill "release-notes" cannot be loaded: logo.png is not a text file'],
    ]);
  });
});

describe('secrets', () => {
  const envFile = (text: string) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-secrets-')), 'secrets.env');
    fs.writeFileSync(file, text);
    return file;
  };

  test("the worker's environment wins over SOP_SECRETS_FILE (a dotenv file); an empty value is missing", () => {
    const file = envFile('# comment\nA_TOKEN="from the file"\nB_TOKEN=\'file-b-value\'\nC_TOKEN=\n');
    const lookup = lookUpSecrets(['A_TOKEN', 'B_TOKEN', 'C_TOKEN', 'D_TOKEN'], {
      SOP_SECRETS_FILE: file,
      A_TOKEN: 'from the environment',
    });
    expect(lookup).toEqual({
      values: { A_TOKEN: 'from the environment', B_TOKEN: 'file-b-value' },
      sources: { A_TOKEN: 'environment', B_TOKEN: 'secrets file' },
      missing: ['C_TOKEN', 'D_TOKEN'],
    });
  });

  test('an unreadable SOP_SECRETS_FILE is an error naming it', () => {
    expect(() => lookUpSecrets(['A'], { SOP_SECRETS_FILE: '/nonexistent/secrets.env' })).toThrow(
      'SOP_SECRETS_FILE /nonexistent/secrets.env cannot be read (ENOENT): fix the path or unset it',
    );
  });

  test('redaction takes out each value, also as it appears escaped inside JSON text', () => {
    const redactor = new Redactor({ A: 'plain-secret-1', B: 'with "quotes" and \\ inside' });
    expect(redactor.text('x plain-secret-1 y')).toBe('x [secret A] y');
    const json = JSON.stringify({ out: 'got with "quotes" and \\ inside!' });
    expect(JSON.parse(redactor.text(json))).toEqual({ out: 'got [secret B]!' });
    expect(redactor.json({ list: ['plain-secret-1'] })).toEqual({ list: ['[secret A]'] });
  });

  test("a launch's server with secrets starts through the launcher: the harness is given only the file's path; the file is the worker's alone and is removed after", () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-launch-'));
    const saved = process.env.TRACKER_TOKEN;
    process.env.TRACKER_TOKEN = 'tracker-secret-value';
    try {
      const grants: ToolGrant[] = [
        {
          server: 'tracker',
          spec: { command: 'node', args: ['tracker.js'], env: { TOKEN: `Bearer ${REF}`, MODE: 'plain' } },
          allow: ['get_issue'],
        },
      ];
      const launch = prepareSecrets(grants, parent);
      expect(launch.names).toEqual(['TRACKER_TOKEN']);
      const [grant] = launch.grants;
      expect(grant.spec).toEqual({
        command: process.execPath,
        args: [expect.stringMatching(/secret-launcher\.js$/), expect.any(String), 'node', 'tracker.js'],
        env: { MODE: 'plain' },
      });
      expect(JSON.stringify(launch.grants)).not.toContain('tracker-secret-value');
      const file = (grant.spec as { args: string[] }).args[1];
      expect(path.dirname(file)).toBe(launch.dir);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({
        env: { TOKEN: 'Bearer tracker-secret-value' },
      });
      launch.close();
      expect(fs.existsSync(launch.dir!)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.TRACKER_TOKEN;
      else process.env.TRACKER_TOKEN = saved;
    }
  });

  test('a missing secret refuses the launch naming it; a server without tools needs none', () => {
    const grants: ToolGrant[] = [
      { server: 'a', spec: { command: 'x', env: { T: REF } }, allow: ['t'] },
      // 'quiet' is listed without tools: it is not started, so its secret is not needed
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a secret reference
      { server: 'quiet', spec: { command: 'x', env: { T: '${{ secrets.OTHER_SECRET }}' } }, allow: [] },
    ];
    expect(() => prepareSecrets(grants, os.tmpdir())).toThrow(
      /^a tool server of the step needs the secret TRACKER_TOKEN, which worker \S+ does not have: set it in the worker's environment or in its SOP_SECRETS_FILE$/,
    );
  });

  test("the secrets folder is denied to the agent: Codex's permission profile, Claude Code's sandbox and Read rules; refused with sandbox full-access", () => {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-ws-'));
    const hidden = ['/var/lib/sop/secrets-abc'];
    const codex = compilePolicy({ sandbox: 'workspace-write' }, 'codex', { workspace, hidden });
    expect(codex.args.join(' ')).toContain('"/var/lib/sop/secrets-abc"="deny"');
    expect(codex.enforced['tools: secrets']).toMatch(/^enforced: /);
    const claude = compilePolicy({ sandbox: 'read-only' }, 'claude', { workspace, hidden });
    expect(claude.settings).toMatchObject({
      permissions: { deny: expect.arrayContaining(['Read(//var/lib/sop/secrets-abc/**)']) },
      sandbox: { filesystem: { denyRead: expect.arrayContaining(hidden) } },
    });
    for (const harness of ['codex', 'claude'] as const)
      expect(() =>
        compilePolicy({ sandbox: 'full-access', network: 'open' }, harness, { workspace, hidden }),
      ).toThrow(PolicyUnsupportedError);
  });

  test('sop doctor lists each declared secret as present (and where from) or missing, never its value', () => {
    const dir = project({ 'sops/notes/sop.yaml': SOP, 'sops/notes/p.md': 'Write notes.\n' });
    fs.mkdirSync(path.join(dir, 'sops/notes/skills/release-notes'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'sops/notes/skills/release-notes/SKILL.md'), SKILL('release-notes', 'x'));
    fs.mkdirSync(path.join(dir, 'skills/house-style'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'skills/house-style/SKILL.md'), SKILL('house-style', 'y'));
    const missing = secretChecks(dir, {});
    expect(missing).toEqual([
      expect.objectContaining({
        name: 'secret TRACKER_TOKEN',
        ok: false,
        detail: 'missing; needed by notes',
      }),
    ]);
    const file = envFile('TRACKER_TOKEN=tracker-secret-value\n');
    const present = secretChecks(dir, { SOP_SECRETS_FILE: file });
    expect(present).toEqual([
      expect.objectContaining({
        name: 'secret TRACKER_TOKEN',
        ok: true,
        detail: expect.stringMatching(/^present \(SOP_SECRETS_FILE /),
      }),
    ]);
    expect(JSON.stringify(present)).not.toContain('tracker-secret-value');
  });
});
