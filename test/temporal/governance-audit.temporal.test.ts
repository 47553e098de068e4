import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { type ModelServer, startModelServer } from '../../src/testing/model-server';
import type { Reply } from '../../src/testing/scenario';
import { runSop } from '../support/run-sop';

// Governance truth (issue 14): what the runtime claims about a run is what happened. `sop run` / `sop
// doctor` as a user runs them, the real harness binaries against the scripted model server.

const done: Reply = { final: { route: 'done', summary: 'done', details: '' } };

/** A project with a one-step SOP whose agent gets `prompt` under `policy` (YAML flow mapping). */
function project(name: string, prompt: string, policy: string): string {
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
