import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import { smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';

// Issue 14 point 1, as a user meets it: a read-only Claude step whose agent tries to write. The real
// `sop` binary and the real Claude Code binary against the scripted model server, on the dev server. That an
// attempt with a denial is not accepted under on_denial: reject, and its next prompt carries the denial, is
// workflow logic: test/workflows/rules.workflow.test.ts.
const done = { final: { route: 'done', summary: 'looked', details: '' } };
let model: ModelServer;
beforeAll(async () => {
  model = await startModelServer({
    rules: [
      {
        match: 'Look but try to write',
        runs: [[{ shell: 'echo hi > made.txt' }, { write: { path: 'made.txt', content: 'x\n' } }, done]],
      },
      // every attempt tries a write
      { match: 'Keep trying to write', runs: [[{ shell: 'echo hi > made.txt' }, done]] },
    ],
  });
});
afterAll(() => model.close());

/** A repository with one SOP: a single read-only Claude step with the given on_denial. */
async function workspaceWith(onDenial: 'record' | 'reject'): Promise<string> {
  const workspace = await smallRepo('sop-denials-');
  const dir = path.join(workspace, 'sops', 'guarded');
  fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'prompts', 'look.md'), '{{ input.request }}\n');
  fs.writeFileSync(
    path.join(dir, 'sop.yaml'),
    [
      'name: guarded',
      'title: A read-only step',
      'version: 1',
      'input:',
      '  request: { type: string, minLength: 1 }',
      'defaults: { provider: claude, policy: look }',
      'policies:',
      `  look: { sandbox: read-only, permission_mode: dont_ask, network: none, on_denial: ${onDenial} }`,
      'steps:',
      '  look:',
      '    prompt: prompts/look.md',
      '    max_attempts: 2',
      '    routes:',
      '      done: { finish: true }',
      '',
    ].join('\n'),
  );
  return workspace;
}

const env = () => ({ SOP_CLAUDE_BASE_URL: model.url, SOP_TASK_QUEUE: 'sop-denials-e2e' });
const lines = (path: string) =>
  fs
    .readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('denied tool calls are named by the final line, sop runs show and sop logs --events, as in the evidence', async () => {
  const workspace = await workspaceWith('record');
  const run = await runSop(
    ['run', 'guarded', 'Look but try to write', '--workspace', workspace, '--task', 'rec'],
    {
      env: env(),
      timeoutMs: 240_000,
    },
  );
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toContain('guarded/rec completed with 2 denied tool calls: 1 agent runs');
  expect(fs.existsSync(path.join(workspace, 'made.txt'))).toBe(false);

  // the run folder: one execution, both denials in executions.jsonl and in its evidence
  const runFolder = path.join(workspace, '.sop', 'runs', 'guarded', 'rec');
  const executions = lines(path.join(runFolder, 'executions.jsonl'));
  expect(executions).toHaveLength(1);
  const expected = [
    expect.objectContaining({ tool: 'Bash', target: 'echo hi > made.txt', source: 'permission' }),
    expect.objectContaining({ tool: 'Write', target: 'made.txt', source: 'disabled_tool' }),
  ];
  expect(executions[0].denials).toEqual(expected);
  const evidence = JSON.parse(
    fs.readFileSync(path.join(runFolder, executions[0].path, 'evidence.json'), 'utf8'),
  );
  expect(evidence.denials).toEqual(executions[0].denials);
  expect(JSON.parse(fs.readFileSync(path.join(runFolder, 'run.json'), 'utf8')).deniedCalls).toBe(2);

  const shown = await runSop(['runs', 'show', 'guarded', 'rec'], { env: env() });
  expect(shown.exitCode).toBe(0);
  expect(shown.stdout).toContain('2 denied tool calls:');
  expect(shown.stdout).toContain(
    'look · agent: Bash `echo hi > made.txt` (permission): Permission to use Bash has been denied',
  );
  expect(shown.stdout).toContain(
    'look · agent: Write `made.txt` (disabled_tool): No such tool available: Write.',
  );
  const json = JSON.parse(
    String((await runSop(['runs', 'show', 'guarded', 'rec', '--json'], { env: env() })).stdout),
  );
  expect(json.deniedCalls).toBe(2);

  const logs = await runSop(['logs', 'guarded', 'rec', '--events'], { env: env() });
  expect(logs.stdout).toMatch(
    /step finished\s+look · agent · attempt 1 · claude → route done, 2 denied tool calls/,
  );
  expect(logs.stdout).toMatch(
    /denied\s+look · agent · attempt 1 · claude: Bash `echo hi > made.txt` \(permission\)/,
  );
  expect(logs.stdout).toMatch(
    /denied\s+look · agent · attempt 1 · claude: Write `made.txt` \(disabled_tool\)/,
  );
}, 300_000);

test('a run that fails on its denials says so in the final line and in sop runs show', async () => {
  const workspace = await workspaceWith('reject');
  const run = await runSop(
    ['run', 'guarded', 'Keep trying to write', '--workspace', workspace, '--task', 'fail'],
    { env: env(), timeoutMs: 240_000 },
  );
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain(
    'guarded/fail failed with 2 denied tool calls: look: agent failed 2 attempt(s): denied tool call (on_denial: reject): Bash `echo hi > made.txt` (permission)',
  );
  const runFolder = path.join(workspace, '.sop', 'runs', 'guarded', 'fail');
  const executions = lines(path.join(runFolder, 'executions.jsonl'));
  expect(executions.map((e) => e.denials.length)).toEqual([1, 1]);

  const shown = await runSop(['runs', 'show', 'guarded', 'fail'], { env: env() });
  expect(shown.stdout).toContain('guarded/fail: failed');
  expect(shown.stdout).toContain('2 denied tool calls:');
  expect(shown.stdout).toContain('look · agent: Bash `echo hi > made.txt` (permission)');
}, 300_000);
