import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { SopClient } from '../../src/client';
import type { RunResult } from '../../src/shapes/run';
import { expectAgreement } from '../support/agreement';
import { recordHistory } from '../support/histories';
import { makeWorkspace } from '../support/plans';
import { runSop } from '../support/run-sop';
import { ScriptedRunner } from '../support/scripted-runner';
import { startScriptedWorker } from '../support/scripted-worker-process';
import { catalogProject } from '../support/sop-project';
import { connectForTest, eventually, type TemporalTestContext, withWorker } from '../support/temporal';

// `kind: sop` steps on the real dev server: ship_probe's step `call` runs build_probe as a Temporal child
// workflow (id `<parent-id>/call`) in the same workspace. The child's outcome picks the parent's route
// (completed → report, failed → mend), its outputs reach a later prompt, the parent's executions.jsonl and
// evidence name the child run, lineage shows both ways in `sop runs show`, and cancelling the parent
// cancels the child; route_on routes on a child step's route; a for_each step runs a child per item, three at
// once in worktrees of their own; a worker killed mid-child is replaced and the child resumes. The scripted
// runner stands in for the harness (agent steps).

const project = catalogProject('sop-calls-', {
  ship_probe: [
    'name: ship_probe',
    'input:',
    '  request: { type: string }',
    'steps:',
    '  call:',
    '    sop: build_probe',
    '    input: { request: "{{ input.request }} (from ship)" }',
    '    routes:',
    '      completed: report',
    '      failed: mend',
    '  report:',
    '    prompt: prompts/report.md',
    '    routes: { done: finish }',
    '  mend:',
    '    prompt: prompts/work.md',
    '    routes: { done: finish }',
    '',
  ].join('\n'),
  gate_probe: [
    'name: gate_probe',
    'input:',
    '  request: { type: string }',
    'steps:',
    '  call:',
    '    sop: judge_probe',
    '    input: { request: "{{ input.request }}" }',
    '    route_on: judge',
    '    routes:',
    '      approve: finish',
    '      deny: mend',
    '  mend:',
    '    prompt: prompts/work.md',
    '    routes: { done: finish }',
    '',
  ].join('\n'),
  judge_probe: [
    'name: judge_probe',
    'input:',
    '  request: { type: string }',
    'steps:',
    '  judge:',
    '    prompt: prompts/work.md',
    '    routes: { approve: finish, deny: finish }',
    '',
  ].join('\n'),
  fan_probe: [
    'name: fan_probe',
    'input:',
    '  request: { type: string }',
    'artifacts:',
    '  work: { kind: json, path: "{{ run.folder }}/work.json", required: true }',
    'worklists:',
    '  items: { from: work, collection: items }',
    'steps:',
    '  plan:',
    '    prompt: prompts/work.md',
    '    writes: [work]',
    '    routes: { done: { to: each, requires: [work] } }',
    '  each:',
    '    for_each: { worklist: items, concurrency: 3 }',
    '    sop: build_probe',
    '    input: { request: "{{ item.title }}" }',
    '    routes:',
    '      completed: { complete_and_advance: true, exhausted: finish }',
    '',
  ].join('\n'),
  stage_probe: [
    'name: stage_probe',
    'input:',
    '  request: { type: string }',
    'steps:',
    '  call:',
    '    sop: two_probe',
    '    input: { request: "{{ input.request }}" }',
    '    routes:',
    '      completed: finish',
    '      failed: mend',
    '  mend:',
    '    prompt: prompts/work.md',
    '    routes: { done: finish }',
    '',
  ].join('\n'),
  two_probe: [
    'name: two_probe',
    'input:',
    '  request: { type: string }',
    'steps:',
    '  first:',
    '    prompt: prompts/work.md',
    '    routes: { done: second }',
    '  second:',
    '    prompt: prompts/work.md',
    '    routes: { done: finish }',
    '',
  ].join('\n'),
  build_probe: [
    'name: build_probe',
    'input:',
    '  request: { type: string }',
    'policies:',
    '  edit: { sandbox: workspace-write }',
    'defaults: { policy: edit }',
    'steps:',
    '  build:',
    '    prompt: prompts/work.md',
    '    routes:',
    '      done: finish',
    '      broken: { fail: "the build broke" }',
    '',
  ].join('\n'),
});
fs.writeFileSync(
  path.join(project, 'sops', 'ship_probe', 'prompts', 'report.md'),
  'Report: the child said "{{ steps.call.payload.outputs.build.summary }}" as run {{ steps.call.payload.run }}.\n',
);

/** build: routes broken when asked to BREAK, waits (until cancelled) when asked to be SLOW. */
function runner(): ScriptedRunner {
  return new ScriptedRunner({
    'build/agent': (call) => {
      const asked = /Work on (.*)\./.exec(call.prompt)?.[1] ?? '?';
      if (asked.includes('SLOW')) return { delayMs: 600_000 };
      return {
        route: asked.includes('BREAK') ? 'broken' : 'done',
        summary: `built ${asked}`,
        write: { [`out/${asked.replace(/\W+/g, '_')}.txt`]: `${asked}\n` },
      };
    },
    'plan/agent': [
      {
        route: 'done',
        write: {
          '{{ run.folder }}/work.json': {
            items: ['alpha', 'beta', 'gamma'].map((title) => ({ id: title[0], title, status: 'pending' })),
          },
        },
      },
    ],
    'judge/agent': (call) => ({ route: call.prompt.includes('DENY') ? 'deny' : 'approve' }),
    'report/agent': [{ route: 'done' }],
    'first/agent': [{ route: 'done', costUsd: 0.25, tokens: 200 }],
    'second/agent': [{ delayMs: 600_000 }],
    'mend/agent': [{ route: 'done' }],
  });
}

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

/** A fresh git workspace and a worker of the project (the scripted harness) on a queue of its own. */
async function withShip<T>(
  script: ScriptedRunner,
  fn: (started: { sop: SopClient; task: string; workspace: string }) => Promise<T>,
): Promise<T> {
  const task = `t-${randomUUID().slice(0, 8)}`;
  const { workspace } = makeWorkspace('ship_probe', task);
  return withWorker(
    ctx,
    (taskQueue) => fn({ sop: new SopClient(ctx.client, { ...ctx.target, taskQueue }), task, workspace }),
    { projectDir: project, runners: { codex: script } },
  );
}

const show = async (run: string) => {
  const result = await runSop(['runs', 'show', run, '--json'], { cwd: project });
  expect(result.exitCode).toBe(0);
  return JSON.parse(String(result.stdout));
};

const executionLines = (workspace: string, sop: string, task: string) =>
  fs
    .readFileSync(path.join(workspace, '.sop', 'runs', sop, task, 'executions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

async function outcome(handle: WorkflowHandle): Promise<string> {
  return handle.result().then(
    () => 'completed',
    (err: Error & { cause?: Error }) => `${err.constructor.name}: ${err.cause?.message ?? err.message}`,
  );
}

test('a child that completes: the parent routes completed, the child output reaches a later prompt, lineage and evidence name the child', async () => {
  const script = runner();
  await withShip(script, async ({ sop, task, workspace }) => {
    const parent = await sop.start('ship_probe', {
      task,
      repo: { path: workspace },
      input: { request: 'CSV' },
    });
    const result = (await parent.result()) as RunResult;
    const parentId = `ship_probe/${task}`;
    const childId = `${parentId}/call`;
    const childTask = `ship_probe.${task}.call`;
    await recordHistory(parent, 'request-sop-step');

    expect(result.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual(['call:completed', 'report:done']);
    expect(result.outputs.call.payload).toMatchObject({
      run: childId,
      sop: 'build_probe',
      status: 'completed',
      outputs: { build: { summary: 'built CSV (from ship)' } },
      routes: { build: 'done' },
    });
    // the step's input template mapped the parent's input; the child's output reached report's prompt
    expect(script.prompts('build/agent')[0]).toContain('Work on CSV (from ship).');
    expect(script.prompts('report/agent')[0]).toContain(
      `Report: the child said "built CSV (from ship)" as run ${childId}.`,
    );
    expect(script.calls.map((c) => c.key)).toEqual(['build/agent', 'report/agent']);

    // the child is a run of build_probe in the same workspace, a Temporal child of the parent
    const child = ctx.client.workflow.getHandle(childId);
    const described = await child.describe();
    expect(described.type).toBe('build_probe');
    expect(described.status.name).toBe('COMPLETED');
    expect(fs.existsSync(path.join(workspace, '.sop', 'runs', 'build_probe', childTask, 'run.json'))).toBe(
      true,
    );

    // executions.jsonl and the evidence record of the parent name the child run and its result
    const line = executionLines(workspace, 'ship_probe', task).find((l) => l.kind === 'sop');
    expect(line).toMatchObject({
      step: 'call',
      route: 'completed',
      child: { sop: 'build_probe', workflowId: childId, runId: described.runId, status: 'completed' },
    });
    const record = JSON.parse(
      fs.readFileSync(
        path.join(workspace, '.sop', 'runs', 'ship_probe', task, line.path, 'evidence.json'),
        'utf8',
      ),
    );
    expect(record).toMatchObject({
      kind: 'sop',
      step: 'call',
      child: { workflowId: childId, task: childTask, status: 'completed' },
      input: { request: 'CSV (from ship)' },
      route: 'completed',
      target: 'report',
    });

    // lineage both ways, through the CLI
    const childView = await show(childId);
    expect(childView).toMatchObject({ sop: 'build_probe', task: childTask, status: 'completed' });
    expect(childView.parent).toEqual({ workflowId: parentId, step: 'call', depth: 1 });
    // as `sop runs list` lists it: its own SOP and task
    expect(await show(`build_probe/${childTask}`)).toMatchObject({
      workflowId: childId,
      status: 'completed',
    });
    const parentView = await eventually(async () => {
      const view = await show(parentId);
      return view.children?.length ? view : undefined;
    });
    expect(parentView.children).toEqual([{ workflowId: childId, step: 'call', status: 'completed' }]);
    const text = await runSop(['runs', 'show', childId], { cwd: project });
    expect(String(text.stdout)).toContain(`parent: ${parentId} (step call)`);
    // sop logs tells the child's start and end
    const logs = String((await runSop(['logs', parentId, '--events'], { cwd: project })).stdout);
    expect(logs).toContain(`call · sop build_probe → ${childId}`);
    expect(logs).toContain('call · sop build_probe → completed');
  });
}, 180_000);

test('a child that fails: the parent takes its failed route and the next step hears why', async () => {
  const script = runner();
  await withShip(script, async ({ sop, task, workspace }) => {
    const parent = await sop.start('ship_probe', {
      task,
      repo: { path: workspace },
      input: { request: 'BREAK' },
    });
    const result = (await parent.result()) as RunResult;
    const childId = `ship_probe/${task}/call`;
    expect(await outcome(ctx.client.workflow.getHandle(childId))).toContain('the build broke');
    expect(result.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual(['call:failed', 'mend:done']);
    expect(result.outputs.call.payload).toMatchObject({ run: childId, status: 'failed' });
    expect(String((result.outputs.call.payload as { failure: string }).failure)).toContain('the build broke');
    expect(script.prompts('mend/agent')[0]).toContain(`ran SOP build_probe as run ${childId}: it failed`);
    const line = executionLines(workspace, 'ship_probe', task).find((l) => l.kind === 'sop');
    expect(line).toMatchObject({ route: 'failed', child: { workflowId: childId, status: 'failed' } });
    const logs = String((await runSop(['logs', `ship_probe/${task}`, '--events'], { cwd: project })).stdout);
    expect(logs).toMatch(/call · sop build_probe → failed: .*the build broke/);
    expect((await show(childId)).status).toBe('failed');
  });
}, 180_000);

test('route_on: the parent routes on the route a step of the child took', async () => {
  const script = runner();
  await withShip(script, async ({ sop, task, workspace }) => {
    const parent = await sop.start('gate_probe', {
      task,
      repo: { path: workspace },
      input: { request: 'DENY' },
    });
    const result = (await parent.result()) as RunResult;
    expect(result.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual(['call:deny', 'mend:done']);
    expect(result.outputs.call.payload).toMatchObject({ status: 'completed', routes: { judge: 'deny' } });
    expect(script.prompts('mend/agent')[0]).toContain(`as run gate_probe/${task}/call: it completed`);
  });
}, 180_000);

test('cancelling the parent cancels the child', async () => {
  const script = runner();
  await withShip(script, async ({ sop, task, workspace }) => {
    const parent = await sop.start('ship_probe', {
      task,
      repo: { path: workspace },
      input: { request: 'SLOW' },
    });
    const child = ctx.client.workflow.getHandle(`ship_probe/${task}/call`);
    // the child's agent is at work
    await eventually(
      async () => (script.calls.some((c) => c.key === 'build/agent') ? true : undefined),
      60_000,
    );
    await parent.cancel();
    expect(await outcome(parent)).toMatch(/^WorkflowFailedError: .*cancel/i);
    expect(await outcome(child)).toMatch(/^WorkflowFailedError: .*cancel/i);
    expect((await child.describe()).status.name).toBe('CANCELLED');
    await recordHistory(parent, 'request-sop-cancel');
    expect((await show(`ship_probe/${task}`)).status).toBe('cancelled');
    expect((await show(`ship_probe/${task}/call`)).status).toBe('cancelled');
  });
}, 180_000);

test("a child terminated on its own still counts: what it used before is in its parent's childUsage", async () => {
  const script = runner();
  await withShip(script, async ({ sop, task, workspace }) => {
    const parent = await sop.start('stage_probe', {
      task,
      repo: { path: workspace },
      input: { request: 'x' },
    });
    const childId = `stage_probe/${task}/call`;
    // the child's first agent run is done (and reported); its second is at work
    await eventually(
      async () => (script.calls.some((c) => c.key === 'second/agent') ? true : undefined),
      60_000,
    );
    await ctx.client.workflow.getHandle(childId).terminate('stopped by hand');
    const result = (await parent.result()) as RunResult;
    expect(result.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual(['call:failed', 'mend:done']);
    expect(result.childUsage).toMatchObject({
      agentRuns: 1,
      inputTokens: 200,
      outputTokens: 20,
      costUsd: 0.25,
    });
    expect((await show(`stage_probe/${task}`)).childUsage).toMatchObject({ agentRuns: 1, costUsd: 0.25 });
    await recordHistory(parent, 'request-sop-child-terminated');
    await recordHistory(ctx.client.workflow.getHandle(childId), 'request-sop-child-reports-usage');
  });
}, 180_000);

test('for_each over a worklist: each item is a child run <parent-id>/<step>/<item>, three at once, each in a worktree of its own merged back', async () => {
  const script = runner();
  await withShip(script, async ({ sop, task, workspace }) => {
    const parent = await sop.start('fan_probe', {
      task,
      repo: { path: workspace },
      input: { request: 'fan' },
    });
    const result = (await parent.result()) as RunResult;
    await recordHistory(parent, 'request-sop-foreach');
    const ids = ['a', 'b', 'g'].map((item) => `fan_probe/${task}/each/${item}`);
    expect(
      result.routesTaken
        .filter((r) => r.step === 'each')
        .map((r) => `${r.item}:${r.route}`)
        .sort(),
    ).toEqual(['a:completed', 'b:completed', 'g:completed']);
    for (const id of ids)
      expect((await ctx.client.workflow.getHandle(id).describe()).status.name).toBe('COMPLETED');
    expect(
      script
        .prompts('build/agent')
        .map((p) => /Work on (.*)\./.exec(p)?.[1])
        .sort(),
    ).toEqual(['alpha', 'beta', 'gamma']);
    // each child worked in a worktree of its own; their work is merged into the run's workspace
    const lines = executionLines(workspace, 'fan_probe', task).filter((l) => l.kind === 'sop');
    expect(lines.map((l) => l.child.workflowId).sort()).toEqual(ids);
    const records = lines.map((l) =>
      JSON.parse(
        fs.readFileSync(
          path.join(workspace, '.sop', 'runs', 'fan_probe', task, l.path, 'evidence.json'),
          'utf8',
        ),
      ),
    );
    const workspaces = records.map((r) => r.child.workspace as string);
    expect(new Set(workspaces).size).toBe(3);
    for (const w of workspaces) expect(w.startsWith(path.join(workspace, '.sop', 'worktrees'))).toBe(true);
    // the child's own run folder (its evidence) stays where its record says
    for (const r of records) expect(fs.existsSync(path.join(r.child.runFolder, 'run.json'))).toBe(true);
    for (const title of ['alpha', 'beta', 'gamma'])
      expect(fs.readFileSync(path.join(workspace, 'out', `${title}.txt`), 'utf8')).toBe(`${title}\n`);
    // lineage names the item
    expect((await show(ids[1])).parent).toEqual({
      workflowId: `fan_probe/${task}`,
      step: 'each',
      item: 'b',
      depth: 1,
    });
  });
}, 240_000);

const startWorker = (env: Record<string, string>) => startScriptedWorker(env, project);

test('a worker killed mid-child: the child resumes on another worker and the parent finishes', async () => {
  const task = `k-${randomUUID().slice(0, 8)}`;
  const { workspace } = makeWorkspace('ship_probe', task);
  // outside the workspace: the write audit of a read-only step would charge it to that step
  const ledger = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-ledger-')), 'ledger.txt');
  const taskQueue = `calls-crash-${randomUUID()}`;
  // the worker that resolves the runs (parent and child) has a launch presumed lost after 3 s of silence, not 60
  const env = {
    LEDGER: ledger,
    TASK_QUEUE: taskQueue,
    SLOW_STEP: 'build',
    SLOW_MS: '600000',
    ROUTE: 'done',
    RUN_OPTIONS: JSON.stringify({ agentHeartbeatTimeoutMs: 3_000 }),
  };
  let worker = (await startWorker(env)).child;
  const sop = new SopClient(ctx.client, { ...ctx.target, taskQueue });
  const parent = await sop.start('ship_probe', {
    task,
    repo: { path: workspace },
    input: { request: 'CSV' },
  });
  await eventually(
    async () =>
      fs.existsSync(ledger) && fs.readFileSync(ledger, 'utf8').includes('build') ? true : undefined,
    60_000,
  );
  worker.kill('SIGKILL');
  await worker;
  worker = (await startWorker({ ...env, SLOW_MS: '10' })).child;
  try {
    const result = (await parent.result()) as RunResult;
    expect(result.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual(['call:completed', 'report:done']);
    // the child's build ran again on the new worker (its launch was lost with the old one), once accepted
    expect(fs.readFileSync(ledger, 'utf8').trim().split('\n')).toEqual(['build', 'build', 'report']);
    const child = ctx.client.workflow.getHandle(`ship_probe/${task}/call`);
    expect((await child.describe()).status.name).toBe('COMPLETED');
    // the lost launch was found after the resolving worker's SOP_WORKER_LOST_AFTER_MS, not the default 60 s
    const launches = ((await child.fetchHistory()).events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a?.activityType?.name === 'runAgentStep');
    expect(launches.map((a) => Number(a?.heartbeatTimeout?.seconds))).toEqual([3, 3]);
    await expectAgreement({ sop: 'ship_probe', task });
    await expectAgreement({ sop: 'ship_probe', task: `${task}/call` });
  } finally {
    worker.kill('SIGTERM');
    await worker;
  }
}, 300_000);
