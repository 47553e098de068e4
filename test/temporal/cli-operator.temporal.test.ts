import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { SopClient } from '../../src/client';
import type { RunEvent } from '../../src/client/run-events';
import { packageRoot } from '../../src/temporal/package-paths';
import { SopStep } from '../../src/temporal/search-attributes';
import { freePort } from '../support/free-port';
import { finish, makeWorkspace, plan, role, route, servePlans, step, to } from '../support/plans';
import { runSop } from '../support/run-sop';
import { ScriptedRunner } from '../support/scripted-runner';
import {
  connectForTest,
  eventually,
  type TemporalTestContext,
  testTarget,
  withWorker,
} from '../support/temporal';

// The operator's view through the real `sop` binary: what a failed, cancelled, rate-limited, waiting or
// unserved run shows, structured logs, and the verbs that refuse a finished run.

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

const clientOn = (taskQueue: string) => new SopClient(ctx.client, { ...testTarget(), taskQueue });

test('a failed run: show has usage and routes, logs --json carries structured fields and rework N, --exit-status, cancel and message refuse', async () => {
  const name = `opfail-${randomUUID().slice(0, 6)}`;
  const runner = new ScriptedRunner({
    'draft/producer': [{ costUsd: 0.1 }],
    'draft/verifier': [
      { route: 'needs_rework', costUsd: 0.1 },
      { route: 'accepted', costUsd: 0.1 },
    ],
    'ship/agent': [{ route: 'broken', costUsd: 0.2 }],
  });
  const p = plan(name, [
    step('draft', {
      kind: 'produce_verify',
      producer: role('Draft.'),
      verifier: role('Review.'),
      routes: [route('accepted', to('ship')), route('needs_rework', to('draft'))],
    }),
    step('ship', {
      agent: role('Ship.'),
      routes: [route('done', finish), route('broken', { kind: 'fail', reason: 'shipping broke' })],
    }),
  ]);
  const run = makeWorkspace(name, 't1');
  await withWorker(
    ctx,
    async (taskQueue) => {
      const handle = await clientOn(taskQueue).start(p.sop, {
        task: 't1',
        input: { request: 'x' },
        repo: { path: run.workspace },
      });
      await expect(handle.result()).rejects.toThrow();

      const shown = await runSop(['runs', 'show', name, 't1']);
      expect(shown.exitCode).toBe(0);
      expect(shown.stdout).toContain(`${name}/t1: failed`);
      expect(shown.stdout).toContain('draft: needs_rework → draft');
      expect(shown.stdout).toContain('ship: broken → fail');
      // 0.1 + 0.1 + 0.1 + 0.1 + 0.2 in floating point is 0.6000000000000001
      expect(shown.stdout).toContain('usage: 5 agent runs, 500 in / 50 out tokens, $0.60\n');
      expect(shown.stdout).toContain('failure: shipping broke');
      const json = JSON.parse(String((await runSop(['runs', 'show', name, 't1', '--json'])).stdout));
      expect(json).toMatchObject({ status: 'failed', usage: { agentRuns: 5, costUsd: 0.6 } });
      expect(json.routesTaken.map((r: { route: string }) => r.route)).toEqual([
        'needs_rework',
        'accepted',
        'broken',
      ]);

      const logs = await runSop(['logs', name, 't1', '--json']);
      expect(logs.exitCode).toBe(0);
      const events = String(logs.stdout)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as RunEvent);
      const finished = events.filter((e) => e.kind === 'step finished');
      expect(
        finished.map(({ step, role, attempt, rework, route }) => ({ step, role, attempt, rework, route })),
      ).toEqual([
        { step: 'draft', role: 'producer', attempt: 1, rework: 0, route: 'done' },
        { step: 'draft', role: 'verifier', attempt: 1, rework: 0, route: 'needs_rework' },
        { step: 'draft', role: 'producer', attempt: 1, rework: 1, route: 'done' },
        { step: 'draft', role: 'verifier', attempt: 1, rework: 1, route: 'accepted' },
        { step: 'ship', role: 'agent', attempt: 1, rework: 0, route: 'broken' },
      ]);
      for (const e of events) {
        expect(e.timeMs).toBe(Date.parse(e.time));
        expect(e.time).toMatch(/\.\d{3}Z$/);
      }
      const text = await runSop(['logs', name, 't1']);
      expect(text.stdout).toMatch(/step finished\s+draft · producer · rework 1 · codex → route done/);
      expect(String(text.stdout).match(/draft · producer · attempt 1/g)).toHaveLength(2); // started, finished

      const followed = await runSop(['logs', name, 't1', '--follow', '--exit-status']);
      expect(followed.exitCode).toBe(1);
      expect(followed.stdout).toMatch(/run failed\s+shipping broke/);
      expect(followed.stderr).toContain(`run ${name}/t1 failed`);
      expect((await runSop(['logs', name, 't1', '--follow'])).exitCode).toBe(0);

      const cancel = await runSop(['cancel', name, 't1']);
      expect(cancel.exitCode).toBe(1);
      expect(cancel.stderr).toContain(`run ${name}/t1 has already finished (failed)`);
      const message = await runSop(['message', name, 't1', 'hello']);
      expect(message.exitCode).toBe(1);
      expect(message.stderr).toContain(`run ${name}/t1 has already finished (failed)`);
      expect(message.stderr).not.toContain('no run');
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
}, 180_000);

test('rate limited: show says when it resumes; SopStep names the input step and is cleared at the end; a cancelled run keeps usage and routes', async () => {
  const name = `oprate-${randomUUID().slice(0, 6)}`;
  const runner = new ScriptedRunner({
    'call/agent': [{ rateLimitMs: 25_000 }, { route: 'done', costUsd: 0.05 }],
    'slow/agent': [{ route: 'done', delayMs: 60_000 }],
  });
  const p = plan(name, [
    step('call', { agent: role('Call.'), routes: [route('done', to('ask'))] }),
    step('ask', {
      kind: 'input',
      input: { question: 'Go on?', schema: { type: 'object', properties: { go: { type: 'boolean' } } } },
      routes: [route('answered', to('slow'))],
    }),
    step('slow', { agent: role('Slow.'), routes: [route('done', finish)] }),
  ]);
  const run = makeWorkspace(name, 't2');
  await withWorker(
    ctx,
    async (taskQueue) => {
      const client = clientOn(taskQueue);
      const handle = await client.start(p.sop, {
        task: 't2',
        input: { request: 'x' },
        repo: { path: run.workspace },
      });
      const parked = await eventually(async () => {
        const r = await runSop(['runs', 'show', name, 't2']);
        return /rate limited/.test(String(r.stdout)) ? String(r.stdout) : undefined;
      }, 20_000);
      expect(parked).toMatch(
        /now: call · agent · attempt 1 · codex — rate limited — resuming at \d\d:\d\d:\d\d \(in \d+ s\)/,
      );
      const details = (await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata'))
        .currentDetails;
      expect(details).toMatch(/rate limited — resuming at \d\d:\d\d:\d\d UTC \(in \d+ s\)/);

      // the input step: SopStep names it while the run waits there
      await eventually(
        async () => ((await client.status(name, 't2')).status === 'waiting_input' ? true : undefined),
        60_000,
      );
      await eventually(async () =>
        (await handle.describe()).typedSearchAttributes.get(SopStep) === 'ask' ? true : undefined,
      );
      expect((await runSop(['answer', name, 't2', '--value', '{"go":true}'])).exitCode).toBe(0);
      await eventually(async () =>
        (await handle.describe()).typedSearchAttributes.get(SopStep) === 'slow' ? true : undefined,
      );
      const cancel = await runSop(['cancel', name, 't2']);
      expect(cancel.exitCode).toBe(0);
      await expect(handle.result()).rejects.toThrow();
      const after = await handle.describe();
      expect(after.status.name).toBe('CANCELLED');
      expect(after.typedSearchAttributes.get(SopStep)).toBeUndefined();

      const shown = await runSop(['runs', 'show', name, 't2']);
      expect(shown.stdout).toContain(`${name}/t2: cancelled`);
      expect(shown.stdout).toContain('call: done → ask');
      expect(shown.stdout).toContain('ask: answered → slow');
      expect(shown.stdout).toMatch(/usage: \d agent runs, .* \$0\.05\n/); // the 429 launch counts as a run
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
}, 240_000);

test('a run nobody serves: show says so at once; sop run refuses a task queue another worker polls', async () => {
  const name = `opnow-${randomUUID().slice(0, 6)}`;
  const p = plan(name, [step('only', { agent: role('Do it.'), routes: [route('done', finish)] })]);
  const run = makeWorkspace(name, 't3');
  const lonely = `nobody-${randomUUID()}`;
  await clientOn(lonely).start(p.sop, { task: 't3', input: { request: 'x' }, repo: { path: run.workspace } });
  // well below the 30 s a status query waits for a worker that never comes
  const shown = await runSop(['runs', 'show', name, 't3'], { timeoutMs: 20_000 });
  expect(shown.exitCode).toBe(0);
  expect(shown.stdout).toContain(`no worker polls task queue ${lonely}: the run cannot move on`);
  // the hint names the task queue the worker must poll
  expect(shown.stdout).toContain(`sop worker --task-queue ${lonely}`);
  await ctx.client.workflow.getHandle(`${name}/t3`).terminate('test over');

  // an SOP on disk, started with `sop run` while another worker (this test's) polls the task queue
  const project = makeWorkspace('queue', 'unused').workspace;
  fs.mkdirSync(path.join(project, 'sops', 'queue', 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(project, 'sops', 'queue', 'prompts', 'do.md'), 'Do it.\n');
  fs.writeFileSync(
    path.join(project, 'sops', 'queue', 'sop.yaml'),
    'name: queue\ninput:\n  request: { type: string }\nsteps:\n  only:\n    prompt: prompts/do.md\n    routes:\n      done: { finish: true }\n',
  );
  const runner = new ScriptedRunner({ 'only/agent': [{ route: 'done' }] });
  await withWorker(
    ctx,
    async (taskQueue) => {
      // a task id of its own: a cluster's database keeps the runs of earlier test runs
      const task = `q-${randomUUID().slice(0, 8)}`;
      const args = ['run', 'queue', 'x', '--workspace', project, '--task', task];
      const refused = await runSop(args, { env: { SOP_TASK_QUEUE: taskQueue } });
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toContain(`a worker already polls task queue ${taskQueue}`);
      expect(refused.stderr).toContain('add --no-worker');
      expect((await runSop(['runs', 'show', 'queue', task])).exitCode).toBe(3); // nothing was started
      const served = await runSop([...args, '--no-worker'], { env: { SOP_TASK_QUEUE: taskQueue } });
      expect(served.stdout).toContain(`queue/${task} completed`);
      expect(served.exitCode).toBe(0);
    },
    { runners: { codex: runner }, projectDir: project },
  );
}, 180_000);

test('read commands never start the dev server nor print its status lines; colour only on a terminal without NO_COLOR', async () => {
  const listed = await runSop(['runs', 'list', '--limit', '3']);
  expect(listed.exitCode).toBe(0);
  expect(listed.stderr).not.toMatch(/dev server|up to date/);

  // a stopped server (nothing listens on this port) is an error, and is not started
  const port = String(await freePort());
  const down = await runSop(['runs', 'list'], { env: { SOP_TEMPORAL_PORT: port } });
  expect(down.exitCode).toBe(1);
  expect(down.stderr).toContain(`cannot reach Temporal at 127.0.0.1:${port}`);
  expect(down.stderr).toContain('sop temporal start');
  expect(down.stderr).not.toMatch(/Temporal dev server (started|already running)/);

  // a failed run, listed in colour on a terminal only
  const name = `opcolor-${randomUUID().slice(0, 6)}`;
  const p = plan(name, [step('only', { agent: role('Do it.'), routes: [route('done', { kind: 'fail' })] })]);
  const run = makeWorkspace(name, 't4');
  const runner = new ScriptedRunner({ 'only/agent': [{ route: 'done' }] });
  await withWorker(
    ctx,
    async (taskQueue) => {
      const handle = await clientOn(taskQueue).start(p.sop, {
        task: 't4',
        input: { request: 'x' },
        repo: { path: run.workspace },
      });
      await expect(handle.result()).rejects.toThrow();
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
  await eventually(async () => {
    const r = await runSop(['runs', 'list', '--sop', name, '--json']);
    return JSON.parse(String(r.stdout))[0]?.status === 'failed' ? true : undefined;
  });
  const piped = await runSop(['runs', 'list', '--sop', name]);
  expect(piped.stdout).toContain('failed');
  expect(piped.stdout).not.toContain('\x1b[');
  const onTerminal = async (env: NodeJS.ProcessEnv) => {
    const command = `node ${path.join(packageRoot, 'bin', 'sop.js')} runs list --sop ${name}`;
    const childEnv: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...env };
    delete childEnv.FORCE_COLOR;
    // Node's hasColors() says no under CI=true (an unknown CI): the child stands for a person's terminal
    delete childEnv.CI;
    const result = await execa('script', ['-qfec', command, '/dev/null'], {
      env: childEnv,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    return String(result.stdout);
  };
  expect(await onTerminal({})).toContain('\x1b[31mfailed');
  const noColor = await onTerminal({ NO_COLOR: '1' });
  expect(noColor).toContain('failed');
  expect(noColor).not.toContain('\x1b[3');
}, 180_000);
