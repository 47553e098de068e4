import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { SopClient } from '../../src/client';
import { startModelServer } from '../../src/scripted-model/model-server';
import { loadScenario } from '../../src/scripted-model/scenario';
import { packageRoot, temporalDir } from '../../src/temporal/package-paths';
import { recordHistory } from '../support/histories';
import { DEMO_ROUTES, routeNames, slugifyRepo, smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';
import { connectForTest, eventually, type TemporalTestContext, testTarget } from '../support/temporal';

// Runs started by reference, as any Temporal client would: the real `temporal` CLI binary and a plain
// @temporalio/client script send only the run request; a real `sop worker` process resolves the SOP from
// its catalog and serves the run (real Codex on the scripted model server where an agent works).

const temporal = (args: string[]) =>
  execa(path.join(temporalDir, 'bin', 'temporal'), [...args, '--address', testTarget().address], {
    reject: false,
    stdin: 'ignore',
    timeout: 120_000,
  });

/** What the temporal CLI printed, its JSON-in-log-line quoting undone. */
const said = (r: { stdout: unknown; stderr: unknown }) => `${r.stdout}${r.stderr}`.replaceAll('\\"', '"');

const taskQueue = `run-request-${randomUUID().slice(0, 8)}`;
let worker: ResultPromise | undefined;
let workerLog = '';
let model: Awaited<ReturnType<typeof startModelServer>>;
let ctx: TemporalTestContext;

beforeAll(async () => {
  ctx = await connectForTest();
  model = await startModelServer(
    loadScenario(path.join(packageRoot, 'examples', 'demo', 'ralph_loop.scenario.yaml')),
  );
  worker = execa('node', [path.join(packageRoot, 'bin', 'sop.js'), 'worker', '--task-queue', taskQueue], {
    cwd: packageRoot,
    env: { SOP_CODEX_BASE_URL: `${model.url}/v1`, SOP_CLAUDE_BASE_URL: model.url },
    stdin: 'ignore',
    reject: false,
  });
  await new Promise<void>((resolve, reject) => {
    worker?.stderr?.on('data', (chunk: Buffer) => {
      workerLog += chunk.toString();
      if (workerLog.includes('worker polling')) resolve();
    });
    void worker?.then(() => reject(new Error(`sop worker exited: ${workerLog}`)));
  });
}, 120_000);

afterAll(async () => {
  worker?.kill('SIGTERM');
  await worker;
  await model?.close();
  await ctx?.close();
});

const start = (sop: string, task: string, request: unknown) =>
  temporal([
    'workflow',
    'start',
    '--type',
    sop,
    '--task-queue',
    taskQueue,
    '--workflow-id',
    `${sop}/${task}`,
    '--input',
    JSON.stringify(request),
  ]);

/** `sop runs show --json` of a run once it has closed. */
async function shownWhenClosed(sop: string, task: string) {
  await temporal(['workflow', 'result', '--workflow-id', `${sop}/${task}`]);
  const show = await runSop(['runs', 'show', sop, task, '--json']);
  expect(show.exitCode).toBe(0);
  return JSON.parse(String(show.stdout));
}

/** An SOP in the workspace's .sop/sops/ that asks a person, then writes the answer down with a command. */
async function gateRepo(): Promise<string> {
  const workspace = await smallRepo('sop-rr-gate-');
  const dir = path.join(workspace, '.sop', 'sops', 'rr-gate');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'sop.yaml'),
    [
      'name: rr-gate',
      'title: Ask a person, then write the answer down',
      'input:',
      '  request: { type: string, minLength: 1 }',
      'steps:',
      '  ask:',
      '    question: Ship it?',
      '    answer: { approve: boolean }',
      '    routes:',
      '      answered: { to: record }',
      '  record:',
      `    run: node -e "require('fs').writeFileSync('answered.txt', 'yes')"`,
      '    routes:',
      '      passed: { finish: true }',
      '',
    ].join('\n'),
  );
  return workspace;
}

const waitingInput = (sop: string, task: string) =>
  eventually(async () => {
    const show = await runSop(['runs', 'show', sop, task, '--json']);
    return show.exitCode === 0 && JSON.parse(String(show.stdout)).status === 'waiting_input'
      ? true
      : undefined;
  }, 60_000);

test('a shipped SOP started by the temporal CLI with only the run request completes and lists like a sop run', async () => {
  const workspace = await slugifyRepo('sop-rr-');
  const task = `cli-${randomUUID().slice(0, 6)}`;
  const started = await start('ralph_loop', task, {
    sop: 'ralph_loop',
    repo: { path: workspace },
    input: { request: 'Make slugify collapse repeated whitespace and drop punctuation' },
  });
  expect(started.exitCode).toBe(0);

  const shown = await shownWhenClosed('ralph_loop', task);
  expect(shown.status).toBe('completed');
  expect(routeNames(shown.routesTaken)).toEqual(DEMO_ROUTES);
  expect(shown.workspace).toBe(workspace);
  expect(shown.bundleHash).toMatch(/^[0-9a-f]{64}$/);
  // the real harness did the work in the repository
  await execa('node', ['--test', 'test/'], { cwd: workspace });
  const work = JSON.parse(
    fs.readFileSync(path.join(workspace, '.sop', 'runs', 'ralph_loop', task, 'work.json'), 'utf8'),
  );
  expect(work.items.map((i: { status: string }) => i.status)).toEqual(['done', 'done']);
  // the workflow set its own search attributes: sop runs list finds it by SOP and status
  const listed = await eventually(async () => {
    const list = await runSop(['runs', 'list', '--sop', 'ralph_loop', '--status', 'completed', '--json']);
    return JSON.parse(String(list.stdout)).find((r: { taskId: string }) => r.taskId === task);
  });
  expect(listed).toEqual(expect.objectContaining({ sop: 'ralph_loop', status: 'completed' }));
}, 240_000);

test.each([
  [
    'an empty repo and no input',
    { sop: 'ralph_loop', repo: {} },
    'run request: repo: needs exactly one of "url"',
  ],
  [
    'an empty input',
    { sop: 'ralph_loop', repo: { path: '<ws>' }, input: {} },
    'invalid input for ralph_loop: input: Instance does not have required property "request"',
  ],
  ['the plan-era shape without a plan', { input: { request: 'x' } }, 'run request: sop is required'],
  [
    'input of the wrong type',
    { sop: 'ralph_loop', repo: { path: '<ws>' }, input: 'x' },
    'run request: input must be an object',
  ],
  [
    'a misspelt field',
    { sop: 'ralph_loop', repo: { path: '<ws>' }, inputs: { request: 'x' } },
    'unknown field(s) "inputs"',
  ],
  [
    'a repo url that cannot be fetched',
    { sop: 'ralph_loop', repo: { url: 'https://example.invalid/r.git' }, input: { request: 'x' } },
    'repo.url: cannot fetch https://example.invalid/r.git',
  ],
  [
    'a ref with a repo path',
    { sop: 'ralph_loop', repo: { path: '<ws>', ref: 'main' }, input: { request: 'x' } },
    'repo.ref goes with repo.url',
  ],
  [
    'a repo path the worker does not have',
    { sop: 'ralph_loop', repo: { path: '/nonexistent/repo' }, input: { request: 'x' } },
    'repo.path /nonexistent/repo is not a directory on worker',
  ],
  [
    'another version',
    { sop: 'ralph_loop', repo: { path: '<ws>' }, input: { request: 'x' }, sopVersion: '99' },
    'sopVersion: "99" does not match ralph_loop',
  ],
  [
    'an unknown param',
    { sop: 'ralph_loop', repo: { path: '<ws>' }, input: { request: 'x' }, params: { nope: 1 } },
    'params: ralph_loop has no param nope',
  ],
  [
    'a task that is not the workflow id',
    { sop: 'ralph_loop', task: 'other', repo: { path: '<ws>' }, input: { request: 'x' } },
    'run request: task is "other" but the workflow id is',
  ],
])(
  'a run request with %s fails the run at once with a one-line reason',
  async (_what, request, reason) => {
    const workspace = await smallRepo('sop-rr-bad-');
    const task = `bad-${randomUUID().slice(0, 6)}`;
    const body = JSON.parse(JSON.stringify(request).replaceAll('<ws>', workspace));
    expect((await start('ralph_loop', task, body)).exitCode).toBe(0);
    const shown = await shownWhenClosed('ralph_loop', task);
    expect(shown.status).toBe('failed');
    expect(shown.failure).toContain(reason);
    expect(shown.failure).not.toContain('\n');
  },
  120_000,
);

test('a run request whose SOP has max_usd and a Codex model without a price fails before any launch', async () => {
  const workspace = await smallRepo('sop-rr-price-');
  const dir = path.join(workspace, '.sop', 'sops', 'rr-priced');
  fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'prompts', 'work.md'), 'Do the work.\n');
  fs.writeFileSync(
    path.join(dir, 'sop.yaml'),
    [
      'name: rr-priced',
      'input:',
      '  request: { type: string, default: go }',
      'budget: { max_usd: 1 }',
      'steps:',
      '  work:',
      '    prompt: prompts/work.md',
      '    model: unpriced-model',
      '    routes: { done: { finish: true } }',
      '',
    ].join('\n'),
  );
  const task = `price-${randomUUID().slice(0, 6)}`;
  const started = await start('rr-priced', task, { sop: 'rr-priced', repo: { path: workspace }, input: {} });
  expect(started.exitCode).toBe(0);
  const shown = await shownWhenClosed('rr-priced', task);
  expect(shown.status).toBe('failed');
  expect(shown.failure).toContain(
    'budget: rr-priced has budget max_usd (1), but no price is known for model unpriced-model (step work agent)',
  );
  expect(fs.existsSync(path.join(workspace, '.sop', 'runs', 'rr-priced', task, 'steps'))).toBe(false);
}, 120_000);

test('a run started with no request at all is listed as failed under its workflow type and task', async () => {
  const task = `empty-${randomUUID().slice(0, 6)}`;
  expect(
    (
      await temporal([
        'workflow',
        'start',
        '--type',
        'bugfix',
        '--task-queue',
        taskQueue,
        '--workflow-id',
        `bugfix/${task}`,
      ])
    ).exitCode,
  ).toBe(0);
  expect((await shownWhenClosed('bugfix', task)).failure).toBe(
    'run request: the request is required (object)',
  );
  const listed = await eventually(async () => {
    const list = await runSop(['runs', 'list', '--sop', 'bugfix', '--status', 'failed', '--json']);
    return JSON.parse(String(list.stdout)).find((r: { taskId: string }) => r.taskId === task);
  });
  expect(listed).toEqual(expect.objectContaining({ sop: 'bugfix', status: 'failed' }));
  const resumed = await runSop(['resume', 'bugfix', task, '--detach'], {
    env: { SOP_TASK_QUEUE: taskQueue },
  });
  expect(resumed.exitCode).toBe(1);
  expect(resumed.stderr).toContain('ended before it started (its run request was refused)');
}, 120_000);

test('malformed signals and updates sent with the temporal CLI leave a run started by a plain @temporalio/client script answerable', async () => {
  const workspace = await gateRepo();
  const task = `plain-${randomUUID().slice(0, 6)}`;
  const id = `rr-gate/${task}`;
  const script = execa(
    'node',
    [
      path.join(packageRoot, 'examples', 'plain-client', 'start-run.mjs'),
      'rr-gate',
      task,
      workspace,
      'Ship the release',
    ],
    {
      env: { TEMPORAL_ADDRESS: testTarget().address, SOP_TASK_QUEUE: taskQueue },
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    },
  );
  await waitingInput('rr-gate', task);
  const waiting = await runSop(['runs', 'list', '--sop', 'rr-gate', '--status', 'waiting_input', '--json']);
  expect(JSON.parse(String(waiting.stdout)).map((r: { taskId: string }) => r.taskId)).toContain(task);

  // signals: ignored (the sender cannot be told), the run keeps answering queries
  for (const input of ['"yes"', '{"valu": true}', '{"value": {"approve": "yes"}}', 'null']) {
    const sent = await temporal([
      'workflow',
      'signal',
      '--workflow-id',
      id,
      '--name',
      'submitAnswer',
      '--input',
      input,
    ]);
    expect(sent.exitCode).toBe(0);
  }
  const noArg = await temporal(['workflow', 'signal', '--workflow-id', id, '--name', 'submitAnswer']);
  expect(noArg.exitCode).toBe(0);
  expect(
    (
      await temporal([
        'workflow',
        'signal',
        '--workflow-id',
        id,
        '--name',
        'message',
        '--input',
        '{"text": 1}',
      ])
    ).exitCode,
  ).toBe(0);
  // updates: refused with the expected shape
  const bare = await temporal([
    'workflow',
    'update',
    'execute',
    '--workflow-id',
    id,
    '--name',
    'answer',
    '--input',
    '{"approve": true}',
  ]);
  expect(bare.exitCode).not.toBe(0);
  expect(said(bare)).toContain('expected {"value": <the answer>');
  const none = await temporal(['workflow', 'update', 'execute', '--workflow-id', id, '--name', 'answer']);
  expect(none.exitCode).not.toBe(0);
  expect(said(none)).toContain('answer is required');
  const wrong = await temporal([
    'workflow',
    'update',
    'execute',
    '--workflow-id',
    id,
    '--name',
    'answer',
    '--input',
    '{"value": {"approve": "yes"}}',
  ]);
  expect(wrong.exitCode).not.toBe(0);
  expect(said(wrong)).toContain('does not fit the requested schema');

  // the worker's log says why each signal was ignored
  await eventually(async () =>
    workerLog.includes('ignored message signal: message must be a string') ? true : undefined,
  );
  expect(workerLog).toContain('ignored submitAnswer signal: answer must be an object, not the string "yes"');
  expect(workerLog).toContain('ignored submitAnswer signal: answer has unknown field(s) "valu"');

  // still waiting, still queryable; then the right answer goes through
  await waitingInput('rr-gate', task);
  const answered = await temporal([
    'workflow',
    'update',
    'execute',
    '--workflow-id',
    id,
    '--name',
    'answer',
    '--input',
    '{"value": {"approve": true}}',
  ]);
  expect(answered.stderr).toBe('');
  expect(answered.exitCode).toBe(0);
  const result = await script;
  expect(result.exitCode).toBe(0);
  expect(JSON.parse(String(result.stdout)).status).toBe('completed');
  expect(fs.readFileSync(path.join(workspace, 'answered.txt'), 'utf8')).toBe('yes');
  // replayed by test/workflows/replay.workflow.test.ts: the malformed signals stay in the history
  await recordHistory(ctx.client.workflow.getHandle(id), 'request-malformed-messages');
}, 180_000);

test('SopClient.start by SOP name with a run request; a terminated run lists as terminated, not waiting', async () => {
  const workspace = await gateRepo();
  const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
  const handle = await client.start('rr-gate', { repo: { path: workspace }, input: { request: 'Ship it' } });
  const task = handle.workflowId.slice('rr-gate/'.length);
  await waitingInput('rr-gate', task);
  await client.answer('rr-gate', task, { approve: true });
  expect((await handle.result()).status).toBe('completed');
  await recordHistory(handle, 'request-gate');

  const second = await client.start('rr-gate', {
    task: `${task}-t`,
    repo: { path: workspace },
    input: { request: 'x' },
  });
  await waitingInput('rr-gate', `${task}-t`);
  await second.terminate('test');
  const row = await eventually(async () => {
    const list = await runSop(['runs', 'list', '--sop', 'rr-gate', '--json']);
    const found = JSON.parse(String(list.stdout)).find((r: { taskId: string }) => r.taskId === `${task}-t`);
    return found?.status === 'terminated' ? found : undefined;
  });
  expect(row.status).toBe('terminated');
  const waiting = await runSop(['runs', 'list', '--sop', 'rr-gate', '--status', 'waiting_input', '--json']);
  expect(JSON.parse(String(waiting.stdout)).map((r: { taskId: string }) => r.taskId)).not.toContain(
    `${task}-t`,
  );
  await expect(client.start('rr-gate', { repo: { path: 'relative' }, input: {} })).rejects.toThrow(
    'run request: repo.path: must be an absolute path',
  );
}, 120_000);

test('sop resume of a run started by request uses the plan recorded in its history, not the SOP as it is now', async () => {
  const workspace = await gateRepo();
  const task = `resume-${randomUUID().slice(0, 6)}`;
  const env = { SOP_TASK_QUEUE: taskQueue };
  expect(
    (await start('rr-gate', task, { sop: 'rr-gate', repo: { path: workspace }, input: { request: 'Ship' } }))
      .exitCode,
  ).toBe(0);
  await waitingInput('rr-gate', task);
  expect((await runSop(['cancel', 'rr-gate', task], { env })).exitCode).toBe(0);
  await temporal(['workflow', 'result', '--workflow-id', `rr-gate/${task}`]);
  // the SOP changes in the workspace catalog after the run started
  const sopFile = path.join(workspace, '.sop', 'sops', 'rr-gate', 'sop.yaml');
  fs.writeFileSync(sopFile, fs.readFileSync(sopFile, 'utf8').replace('Ship it?', 'Deploy it?'));

  expect((await runSop(['resume', 'rr-gate', task, '--detach'], { env })).exitCode).toBe(0);
  await waitingInput('rr-gate', task);
  const shown = JSON.parse(String((await runSop(['runs', 'show', 'rr-gate', task, '--json'])).stdout));
  expect(shown.pendingInput.question).toBe('Ship it?');
  const answered = await temporal([
    'workflow',
    'update',
    'execute',
    '--workflow-id',
    `rr-gate/${task}`,
    '--name',
    'answer',
    '--input',
    '{"value": {"approve": true}}',
  ]);
  expect(answered.exitCode).toBe(0);
  expect((await shownWhenClosed('rr-gate', task)).status).toBe('completed');
}, 120_000);
