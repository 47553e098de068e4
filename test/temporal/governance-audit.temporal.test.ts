import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { resolveHarnessBinary } from '../../src/harnesses/binaries';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import type { Reply } from '../../src/scripted-model/scenario';
import { runSop } from '../support/run-sop';

// Governance truth (issue 14): what the runtime claims about a run is what happened. `sop run` / `sop
// doctor` as a user runs them, the real harness binaries against the scripted model server.

const done: Reply = { final: { route: 'done', summary: 'done', details: '' } };

/** A project with a one-step SOP whose agent gets `prompt` under `policy` (YAML flow mapping). */
function project(name: string, prompt: string, policy: string, stepLines: string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-audit-project-'));
  const sop = path.join(dir, 'sops', name);
  fs.mkdirSync(path.join(sop, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(sop, 'prompts', 'work.md'), `${prompt}\n`);
  fs.writeFileSync(
    path.join(sop, 'sop.yaml'),
    [
      `name: ${name}`,
      'input:',
      '  request: { type: string, default: go }',
      'defaults: { policy: step }',
      'policies:',
      `  step: ${policy}`,
      'steps:',
      '  work:',
      '    prompt: prompts/work.md',
      ...stepLines.map((l) => `    ${l}`),
      '    routes:',
      '      done: { finish: true }',
      '',
    ].join('\n'),
  );
  return dir;
}

/** A committed git repository; `files` are committed, `history` files committed and then deleted. */
async function repo(files: Record<string, string>, history: Record<string, string> = {}): Promise<string> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-audit-ws-'));
  const git = (...args: string[]) =>
    execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: workspace });
  await git('init', '-q');
  for (const [name, text] of Object.entries({ 'README.md': 'a repo\n', ...history, ...files })) {
    fs.mkdirSync(path.dirname(path.join(workspace, name)), { recursive: true });
    fs.writeFileSync(path.join(workspace, name), text);
  }
  await git('add', '-A');
  await git('commit', '-qm', 'first');
  if (Object.keys(history).length > 0) {
    await git('rm', '-q', '--cached', ...Object.keys(history));
    await git('commit', '-qm', 'untrack');
  }
  return workspace;
}

let model: ModelServer | undefined;
afterEach(async () => {
  await model?.close();
  model = undefined;
});

async function run(
  sop: string,
  projectDir: string,
  workspace: string,
  provider: 'codex' | 'claude',
  env: Record<string, string> = {},
) {
  const result = await runSop(
    [
      'run',
      sop,
      '-C',
      projectDir,
      '--workspace',
      workspace,
      '--task',
      `t-${provider}`,
      '--provider',
      provider,
    ],
    {
      env: {
        SOP_CODEX_BASE_URL: `${model!.url}/v1`,
        SOP_CLAUDE_BASE_URL: model!.url,
        SOP_TASK_QUEUE: `audit-${sop}`,
        ...env,
      },
      timeoutMs: 150_000,
    },
  );
  return { ...result, output: `${result.stdout}\n${result.stderr}` };
}

describe('a state folder under /tmp (Codex refuses to set up its sandbox helper there)', () => {
  test('sop run with codex fails before launch, naming SOP_STATE_DIR and the fix; nothing reaches the model', async () => {
    model = await startModelServer({
      rules: [{ match: 'Write the probe file', runs: [[{ shell: 'echo hi > probe.txt' }, done]] }],
    });
    const dir = project('tmp_state', 'Write the probe file.', '{ sandbox: workspace-write }');
    const workspace = await repo({});
    const state = fs.mkdtempSync('/tmp/sop-state-');
    const result = await run('tmp_state', dir, workspace, 'codex', { SOP_STATE_DIR: state });
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain(
      `the state folder ${state} (SOP_STATE_DIR) is under the temporary directory /tmp`,
    );
    expect(result.output).toContain('Set SOP_STATE_DIR to a folder outside /tmp');
    expect(model.requests).toHaveLength(0);
    expect(fs.existsSync(path.join(workspace, 'probe.txt'))).toBe(false);
    expect(fs.readdirSync(state)).toEqual([]);
  }, 180_000);

  test('the premise, with the real codex binary: its home under /tmp leaves every command of the agent failing', async () => {
    // when a codex bump stops refusing /tmp, this fails and the refusal above can go
    model = await startModelServer({
      rules: [{ match: 'Write the probe file', runs: [[{ shell: 'echo hi > probe.txt' }, done]] }],
    });
    const workspace = await repo({});
    const home = fs.mkdtempSync('/tmp/sop-codex-home-');
    const codex = await execa(
      resolveHarnessBinary('codex').path,
      [
        'exec',
        '--json',
        '--skip-git-repo-check',
        '--ignore-user-config',
        '-c',
        'default_permissions="step"',
        '-c',
        'permissions.step={extends=":workspace"}',
        '-c',
        'model_provider="sop"',
        '-c',
        'model_providers.sop.name="sop"',
        '-c',
        `model_providers.sop.base_url="${model.url}/v1"`,
        '-c',
        'model_providers.sop.wire_api="responses"',
        '-c',
        'model_providers.sop.env_key="OPENAI_API_KEY"',
        '-m',
        'gpt-5.5',
        '-C',
        workspace,
        '-',
      ],
      {
        input: 'Write the probe file.',
        env: { PATH: process.env.PATH, HOME: process.env.HOME, CODEX_HOME: home, OPENAI_API_KEY: 'offline' },
        extendEnv: false,
        reject: false,
        timeout: 60_000,
      },
    );
    expect(codex.stderr).toContain('Refusing to create helper binaries under temporary dir');
    expect(fs.existsSync(path.join(workspace, 'probe.txt'))).toBe(false);
  }, 90_000);

  test('sop doctor fails the state folder check with the fix', async () => {
    const state = fs.mkdtempSync('/tmp/sop-state-');
    const result = await runSop(['doctor', '--json'], { env: { SOP_STATE_DIR: state } });
    expect(result.exitCode).toBe(1);
    const checks = JSON.parse(String(result.stdout)) as Array<{
      name: string;
      ok: boolean;
      detail: string;
      fix: string;
    }>;
    expect(checks.find((c) => c.name === 'state folder')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('where Codex refuses to set up its sandbox helper'),
      fix: expect.stringContaining('outside /tmp'),
    });
    const fine = await runSop(['doctor', '--json']);
    const ok = (JSON.parse(String(fine.stdout)) as Array<{ name: string; ok: boolean }>).find(
      (c) => c.name === 'state folder',
    );
    expect(ok).toMatchObject({ ok: true });
  }, 60_000);
});

/** The evidence records of a run, in execution order. */
interface Evidence {
  violations: string[];
  writes: {
    files: { count: number; paths: string[] };
    dependencies: { count: number; paths: string[] };
    method: 'git' | 'walk';
  };
  effectiveConfig: {
    enforced: Record<string, string>;
    warnings: Array<{ control: string; message: string }>;
  };
}

function evidenceOf(workspace: string, sop: string, task: string): Evidence[] {
  const steps = path.join(workspace, '.sop', 'runs', sop, task, 'steps');
  return (fs.readdirSync(steps, { recursive: true }) as string[])
    .filter((f) => f.endsWith('evidence.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(steps, f), 'utf8')));
}

describe('the write audit sees .git/, node_modules/ and rewrites that keep size and mtime (real claude)', () => {
  const git = (...args: string[]) => `git -c user.name=a -c user.email=a@example.invalid ${args.join(' ')}`;

  test('planted hook, core.fsmonitor, other refs and a same-size rewrite with restored mtime are violations; node_modules writes are recorded', async () => {
    model = await startModelServer({
      rules: [
        {
          match: 'Plant things',
          runs: [
            [
              // Claude refuses a redirect into .git/hooks, not a program that writes there
              { shell: `node -e "require('fs').writeFileSync('.git/hooks/pre-commit', 'echo pwned')"` },
              { shell: 'git config core.fsmonitor "touch pwned"' },
              { shell: 'git tag v9' },
              { shell: 'echo "// patched" >> node_modules/left-pad/index.js' },
              { shell: 'printf BBBB > notes.txt' },
              { shell: 'touch -d 2020-01-01T00:00:00Z notes.txt' },
              done,
            ],
          ],
        },
      ],
    });
    // no OS sandbox (Claude's own would refuse .git/hooks and .git/config): only the audit stands guard
    const dir = project(
      'plant',
      'Plant things.',
      '{ sandbox: full-access, permission_mode: accept_edits, allow_write: [src/], allow_commands: [node, printf, git, echo, touch] }',
      ['max_attempts: 1'],
    );
    const workspace = await repo({
      'node_modules/left-pad/index.js': 'module.exports = 1;\n',
      'notes.txt': 'AAAA',
    });
    await execa('touch', ['-d', '2020-01-01T00:00:00Z', 'notes.txt'], { cwd: workspace });
    const result = await run('plant', dir, workspace, 'claude');
    expect(fs.readFileSync(path.join(workspace, 'notes.txt'), 'utf8')).toBe('BBBB'); // size and mtime kept
    expect(result.exitCode).toBe(1);
    const [evidence] = evidenceOf(workspace, 'plant', 't-claude');
    const { violations } = evidence;
    for (const file of ['.git/hooks/pre-commit', '.git/config', '.git/refs/tags/v9']) {
      expect(violations).toContainEqual(
        expect.stringMatching(
          new RegExp(`^${file.replace(/\./g, '\\.')} was written: in \\.git/ only the index`),
        ),
      );
    }
    expect(violations).toContain('notes.txt is outside allow_write (src/)');
    expect(violations.join('\n')).not.toContain('node_modules');
    expect(evidence.writes.dependencies).toEqual({ count: 1, paths: ['node_modules/left-pad/index.js'] });
    // the run says why it failed
    expect(result.output).toMatch(/\.git\/hooks\/pre-commit was written/);
  }, 200_000);

  test('a commit on the checked-out branch under the Claude sandbox is no violation (its .git placeholders neither)', async () => {
    model = await startModelServer({
      rules: [
        {
          match: 'Commit the change',
          runs: [
            [
              { write: { path: 'src/a.txt', content: 'a\n' } },
              { shell: `${git('add', 'src/a.txt')} && ${git('commit', '-qm', 'change')} && echo committed` },
              done,
            ],
          ],
        },
      ],
    });
    const dir = project('commit', 'Commit the change.', '{ sandbox: workspace-write, allow_write: [src/] }');
    const workspace = await repo({});
    // a small repository: asked through git anyway (SOP_AUDIT_WALK_BELOW=0), as a large one would be
    const result = await run('commit', dir, workspace, 'claude', { SOP_AUDIT_WALK_BELOW: '0' });
    expect(result.exitCode).toBe(0);
    const log = await execa('git', ['log', '--format=%s'], { cwd: workspace });
    expect(log.stdout.split('\n')[0]).toBe('change');
    const [evidence] = evidenceOf(workspace, 'commit', 't-claude');
    expect(evidence.violations).toEqual([]);
    expect(evidence.writes.files.paths).toEqual(expect.arrayContaining(['.git/index', 'src/a.txt']));
    expect(evidence.writes.files.paths).toContainEqual(expect.stringMatching(/^\.git\/refs\/heads\//));
    expect(evidence.writes.method).toBe('git'); // git status, not a walk of every file
  }, 200_000);
});

describe('deny_read and git: an honest refusal instead of "enforced" while git show prints the file', () => {
  const canary = 'TOKEN=canary-5e1d';
  const leak: Reply[] = [
    { shell: 'git show HEAD:.env; git cat-file -p HEAD:.secrets/key; echo shown' },
    done,
  ];

  test.each(['codex', 'claude'] as const)(
    'sop run (%s) refuses before launch with SOP503 naming what git reveals (tracked, in history; globs) and the fix',
    async (provider) => {
      model = await startModelServer({ rules: [{ match: 'Read the secrets', runs: [leak] }] });
      const dir = project(
        'secrets',
        'Read the secrets.',
        '{ sandbox: workspace-write, deny_read: [.env, ".secrets/**", "*.pem"] }',
      );
      const workspace = await repo({ '.env': `${canary}\n` }, { '.secrets/key': 'k\n' });
      const result = await run('secrets', dir, workspace, provider);
      expect(result.exitCode).toBe(1);
      expect(result.output).toContain(
        'SOP503: deny_read cannot be enforced for .env (tracked: .env), .secrets/** (in history: commit ',
      );
      expect(result.output).not.toContain('*.pem'); // neither tracked nor in history: the sandbox covers it
      expect(result.output).toContain(
        'git rm -r --cached -- PATH; git filter-repo --invert-paths --path PATH',
      );
      expect(result.output).toContain('validation: warn');
      expect(result.output).not.toContain(canary);
      expect(model.requests).toHaveLength(0); // nothing was launched
    },
    200_000,
  );

  test('with validation: warn the step runs, and its evidence says deny_read covers the working tree only', async () => {
    model = await startModelServer({ rules: [{ match: 'Read the secrets', runs: [leak] }] });
    const dir = project(
      'secrets_warn',
      'Read the secrets.',
      '{ sandbox: workspace-write, deny_read: [.env, ".secrets/**"], validation: warn }',
    );
    const workspace = await repo({ '.env': `${canary}\n` }, { '.secrets/key': 'k\n' });
    const result = await run('secrets_warn', dir, workspace, 'codex');
    expect(result.exitCode).toBe(0);
    const [evidence] = evidenceOf(workspace, 'secrets_warn', 't-codex');
    expect(evidence.effectiveConfig.enforced.deny_read).toMatch(
      /for the working tree only; NOT for git: \.env, \.secrets\/\*\* \(git show \/ git cat-file print it; validation: warn\)$/,
    );
    expect(evidence.effectiveConfig.warnings).toEqual(
      expect.arrayContaining([
        { control: 'deny_read', message: '.env (tracked: .env): git show / git cat-file can print it' },
      ]),
    );
    // what the record warns about is what happened: git printed the content to the agent
    const steps = path.join(workspace, '.sop', 'runs', 'secrets_warn', 't-codex', 'steps', 'work');
    const [folder] = fs.readdirSync(steps);
    expect(fs.readFileSync(path.join(steps, folder, 'codex-rollout.jsonl'), 'utf8')).toContain('canary-5e1d');
  }, 200_000);
});
