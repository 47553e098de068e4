import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SopClient } from '../../src/client';
import { createSopWorker } from '../../src/worker/create-worker';
import { recordHistory } from '../support/histories';
import { runSop } from '../support/run-sop';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';

// Events between SOPs on the real dev server: `plan` takes a route that `emits: planned`; `implement`
// listens to it, gets the payload built from plan's outputs in its input, and emits `implemented` when
// it finishes, which `review` hears. Lineage shows both ways in `sop runs show`; the chain stops at the
// worker's depth limit with a failure naming it.

const command = (run: string) => ['    kind: command', `    run: ${JSON.stringify(run)}`, '    routes:'];

function eventProject(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-events-'));
  const sops: Record<string, string[]> = {
    plan_probe: [
      'input:',
      '  request: { type: string }',
      'steps:',
      '  draft:',
      ...command('echo "plan: add a csv writer"'),
      '      passed:',
      '        finish: true',
      '        emits: { event: planned, payload: { plan: "{{ steps.draft.payload.tail }}", request: "{{ input.request }}" } }',
      '      failed: { fail: true }',
    ],
    implement_probe: [
      'input:',
      '  plan: { type: string }',
      '  request: { type: string }',
      '  parent: { type: string }',
      'triggers:',
      '  after_plan:',
      '    event: planned',
      '    input: { plan: "{{ payload.plan }}", request: "{{ payload.request }}", parent: "{{ event.run }}" }',
      'emits: implemented',
      'steps:',
      '  build:',
      ...command('echo implemented'),
      '      passed: { finish: true }',
      '      failed: { fail: true }',
    ],
    review_probe: [
      'input:',
      '  built: { type: string }',
      'triggers:',
      '  after_implement:',
      '    event: implemented',
      '    input: { built: "{{ event.outputs.build.tail }}" }',
      'steps:',
      '  look:',
      ...command('echo reviewed'),
      '      passed: { finish: true }',
      '      failed: { fail: true }',
    ],
  };
  for (const [name, lines] of Object.entries(sops)) {
    fs.mkdirSync(path.join(root, 'sops', name), { recursive: true });
    fs.writeFileSync(path.join(root, 'sops', name, 'sop.yaml'), [`name: ${name}`, ...lines, ''].join('\n'));
  }
  return root;
}

const project = eventProject();
let ctx: TemporalTestContext;

beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

/** Runs `fn` with a worker of this project on a task queue of its own, and a client starting runs there. */
async function withProjectWorker<T>(maxEventDepth: number | undefined, fn: (sop: SopClient) => Promise<T>) {
  const taskQueue = `events-${randomUUID().slice(0, 8)}`;
  const worker = await createSopWorker({
    connection: ctx.connection,
    target: ctx.target,
    taskQueue,
    activities: { projectDir: project, ...(maxEventDepth === undefined ? {} : { maxEventDepth }) },
  });
  return worker.runUntil(fn(new SopClient(ctx.client, { ...ctx.target, taskQueue })));
}

/** The input of the run request a run was started with (the first event of its history). */
async function runRequestInput(workflowId: string): Promise<unknown> {
  const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
  const data = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  return JSON.parse(Buffer.from(data ?? []).toString()).input;
}

const show = async (workflowId: string) => {
  const result = await runSop(['runs', 'show', workflowId, '--json'], { cwd: project });
  expect(result.exitCode).toBe(0);
  return JSON.parse(String(result.stdout));
};

test('plan emits planned: implement starts with the payload in its input, lineage shows both ways, and implement finishing starts review', async () => {
  await withProjectWorker(undefined, async (sop) => {
    const task = `t-${randomUUID().slice(0, 8)}`;
    const plan = await sop.start('plan_probe', {
      task,
      repo: { path: project },
      input: { request: 'CSV export' },
    });
    await plan.result();
    const planId = `plan_probe/${task}`;
    // the listener's task id is derived from the emitting run: the first emission of this execution
    const childTask = `plan_probe.${task}.planned.${(await plan.describe()).runId.slice(0, 8)}-1`;
    const implement = ctx.client.workflow.getHandle(`implement_probe/${childTask}`);
    await implement.result();
    // the replay corpus: a run that emits on a route, and one that emits when it finishes
    await recordHistory(plan, 'request-emit-route');
    await recordHistory(implement, 'request-emit-finish');
    // the payload plan's emits: built from its outputs is the listener's input (its run request)
    expect(await runRequestInput(implement.workflowId)).toEqual({
      plan: 'plan: add a csv writer',
      request: 'CSV export',
      parent: planId,
    });

    const child = await show(`implement_probe/${childTask}`);
    expect(child.parent).toEqual({ workflowId: planId, event: 'planned', depth: 1 });
    expect(child.startedBy).toMatchObject({
      kind: 'event',
      event: 'planned',
      trigger: 'after_plan',
      parent: planId,
    });
    const parent = await eventually(async () => {
      const view = await show(planId);
      return view.children?.length ? view : undefined;
    });
    expect(parent.children).toEqual([
      { workflowId: `implement_probe/${childTask}`, event: 'planned', status: 'completed' },
    ]);
    // implement's own emission (on finish) started review one level further down the chain
    const grandchild = await eventually(async () => {
      const view = await show(`implement_probe/${childTask}`);
      return view.children?.length ? view.children[0] : undefined;
    });
    expect(grandchild.event).toBe('implemented');
    const review = ctx.client.workflow.getHandle(grandchild.workflowId);
    await review.result();
    expect(await runRequestInput(grandchild.workflowId)).toEqual({ built: 'implemented' });
    expect((await show(grandchild.workflowId)).parent).toEqual({
      workflowId: `implement_probe/${childTask}`,
      event: 'implemented',
      depth: 2,
    });
    // the plain text view says the same
    const text = await runSop(['runs', 'show', `implement_probe/${childTask}`], { cwd: project });
    expect(String(text.stdout)).toContain(`parent: ${planId} (event planned)`);
    expect(String(text.stdout)).toContain(`started by event planned of run ${planId} (trigger after_plan)`);
    expect(String(text.stdout)).toContain(`${grandchild.workflowId} (event implemented)`);
  });
}, 120_000);

test('a chain deeper than the depth limit fails the run that would pass it, naming the chain', async () => {
  await withProjectWorker(1, async (sop) => {
    const task = `d-${randomUUID().slice(0, 8)}`;
    const plan = await sop.start('plan_probe', { task, repo: { path: project }, input: { request: 'deep' } });
    await plan.result();
    const childId = `implement_probe/plan_probe.${task}.planned.${(await plan.describe()).runId.slice(0, 8)}-1`;
    const failure = await ctx.client.workflow
      .getHandle(childId)
      .result()
      .then(
        () => 'completed',
        (err: Error & { cause?: Error }) => err.cause?.message ?? err.message,
      );
    expect(failure).toContain('event implemented');
    expect(failure).toContain(`plan_probe/${task} → ${childId}`);
    expect(failure).toContain('limit of 1');
    const view = await show(childId);
    expect(view.status).toBe('failed');
    expect(view.children).toBeUndefined();
  });
}, 120_000);
