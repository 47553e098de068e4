import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRef } from '../../src/shapes/contract';
import type { ArtifactSpec, ExecutionPlan, WorklistSpec } from '../../src/shapes/execution-plan';
import { answerUpdate, checkpointQuery, messageSignal, statusQuery } from '../../src/shapes/messages';
import type { RunInput, RunOptions, RunResult } from '../../src/shapes/run';
import { SopStep } from '../../src/temporal/search-attributes';
import { expectAgreement } from '../support/agreement';
import { recordHistory } from '../support/histories';
import {
  failTarget,
  finish,
  makeWorkspace,
  plan,
  role,
  route,
  runRequest,
  servePlans,
  step,
  to,
} from '../support/plans';
import { runSop } from '../support/run-sop';
import { ScriptedRunner } from '../support/scripted-runner';
import { connectForTest, eventually, type TemporalTestContext, withWorker } from '../support/temporal';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

/** Starts `p` by run request on a worker that serves it (see withRun). */
function start(taskQueue: string, p: ExecutionPlan, run: RunRef) {
  return ctx.client.workflow.start(p.sop, {
    workflowId: `${p.sop}/${run.taskId}`,
    taskQueue,
    args: [runRequest(p, run)],
  });
}

async function runToEnd(p: ExecutionPlan, runner: ScriptedRunner, options: RunOptions = {}) {
  return withRun(
    p,
    runner,
    async ({ handle, run }) => {
      let outcome: { result?: RunResult; error?: Error & { cause?: Error } };
      try {
        outcome = { result: (await handle.result()) as RunResult };
      } catch (error) {
        outcome = { error: error as Error & { cause?: Error } };
      }
      await recordHistory(handle, p.sop);
      await expectAgreement({ sop: p.sop, task: run.taskId, runFolder: run.runFolder });
      return { run, handle, ...outcome };
    },
    options,
  );
}

/**
 * Starts `p` in a fresh workspace and hands its handle to `fn` while the worker still runs: a query on a
 * closed run is answered by replaying it on a worker. The worker serves `p` with these run options.
 */
async function withRun<T>(
  p: ExecutionPlan,
  runner: ScriptedRunner,
  fn: (started: { handle: Awaited<ReturnType<typeof start>>; run: RunRef; taskQueue: string }) => Promise<T>,
  options: RunOptions = {},
): Promise<T> {
  const run = makeWorkspace(p.sop, randomUUID());
  return withWorker(
    ctx,
    async (taskQueue) => fn({ handle: await start(taskQueue, p, run), run, taskQueue }),
    {
      runners: { codex: runner },
      ...servePlans(p),
      runOptions: options,
    },
  );
}

const work: ArtifactSpec = {
  name: 'work',
  kind: 'json',
  path: '{{ run.folder }}/work.json',
  required: true,
  schema: { type: 'object', required: ['items'], properties: { items: { type: 'array' } } },
};
const review: ArtifactSpec = {
  name: 'review',
  kind: 'md',
  path: '{{ run.folder }}/review.md',
  required: false,
};

test('an agent step accepted on the first try finishes the run under the SOP name as workflow type', async () => {
  const runner = new ScriptedRunner({
    implement: [],
    'implement/agent': [{ route: 'done', summary: 'implemented' }],
  });
  const p = plan('single', [
    step('implement', { agent: role('Implement {{ input.request }}.'), routes: [route('done', finish)] }),
  ]);
  const { result, handle } = await runToEnd(p, runner);
  expect(result?.status).toBe('completed');
  expect(result?.routesTaken).toEqual([{ step: 'implement', route: 'done', target: 'finish' }]);
  expect((await handle.describe()).type).toBe('single');
  const [prompt] = runner.prompts('implement/agent');
  expect(prompt).toContain('Implement test request.');
  expect(prompt).toContain('`done`');
});

test('SopStep shows a step that runs for more than two seconds, so `sop runs list` can filter on it', async () => {
  const runner = new ScriptedRunner({
    'quick/agent': [{ route: 'done' }],
    'slow/agent': [{ route: 'done', delayMs: 6_000 }],
  });
  const p = plan('stepattr', [
    step('quick', { agent: role('Be quick.'), routes: [route('done', to('slow'))] }),
    step('slow', { agent: role('Take your time.'), routes: [route('done', finish)] }),
  ]);
  await withRun(p, runner, async ({ handle }) => {
    const query = `WorkflowId = "${handle.workflowId}" AND SopStep = "slow" AND ExecutionStatus = "Running"`;
    await eventually(async () => {
      for await (const _ of ctx.client.workflow.list({ query })) return true;
      return undefined;
    });
    await handle.result();
    const history = await handle.fetchHistory();
    const shown = (history.events ?? []).flatMap((e) =>
      Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}),
    );
    // the quick step was over before it was worth a visibility write; the run's end clears it
    expect(shown.filter((k) => k === 'SopStep')).toHaveLength(2);
    expect((await handle.describe()).typedSearchAttributes.get(SopStep)).toBeUndefined();
  });
});

test('produce/verify: reworked twice with the verifier findings, then accepted', async () => {
  const runner = new ScriptedRunner({
    'plan/producer': [{ write: { '{{ run.folder }}/work.json': { items: [] } } }],
    'plan/verifier': [
      { route: 'needs_rework', details: 'item 1 is vague', write: { '{{ run.folder }}/review.md': 'vague' } },
      {
        route: 'needs_rework',
        details: 'no tests planned',
        write: { '{{ run.folder }}/review.md': 'tests?' },
      },
      { route: 'accepted', write: { '{{ run.folder }}/review.md': 'ok' } },
    ],
  });
  const p = plan(
    'pv',
    [
      step('plan', {
        kind: 'produce_verify',
        producer: role('Plan it.', ['work']),
        verifier: role('Review the plan.', ['review']),
        routes: [
          route('accepted', finish, ['work', 'review']),
          route('needs_rework', to('plan'), ['review']),
        ],
      }),
    ],
    { artifacts: [work, review] },
  );
  const { result } = await runToEnd(p, runner);
  expect(result?.status).toBe('completed');
  const producerPrompts = runner.prompts('plan/producer');
  expect(producerPrompts).toHaveLength(3);
  expect(producerPrompts[0]).not.toContain('sent the work back');
  expect(producerPrompts[1]).toContain('rework 1 of 3');
  expect(producerPrompts[1]).toContain('item 1 is vague');
  expect(producerPrompts[2]).toContain('no tests planned');
  expect(result?.routesTaken.map((r) => r.route)).toEqual(['needs_rework', 'needs_rework', 'accepted']);
});

test('an illegal route gets precise feedback and a retry, then succeeds', async () => {
  const runner = new ScriptedRunner({ 'triage/agent': [{ route: 'maybe' }, { route: 'ok' }] });
  const p = plan('illegal', [
    step('triage', { agent: role('Triage.'), routes: [route('ok', finish), route('blocked', failTarget())] }),
  ]);
  const { result } = await runToEnd(p, runner);
  expect(result?.status).toBe('completed');
  const prompts = runner.prompts('triage/agent');
  expect(prompts).toHaveLength(2);
  expect(prompts[1]).toContain(
    'route "maybe" is not a legal outcome of this step; choose one of: ok, blocked',
  );
});

test('a missing required artifact is retried, then takes the failure path naming the artifact', async () => {
  const runner = new ScriptedRunner({ 'plan/agent': [{ route: 'planned' }] });
  const p = plan(
    'missing',
    [
      step('plan', {
        agent: role('Plan.', ['work']),
        maxAttempts: 2,
        routes: [route('planned', finish, ['work'])],
      }),
    ],
    { artifacts: [work] },
  );
  const { error } = await runToEnd(p, runner);
  expect(runner.calls).toHaveLength(2);
  expect(runner.calls[1].prompt).toContain('required artifact "work"');
  expect(error?.cause?.message).toMatch(
    /^plan: agent failed 2 attempt\(s\): required artifact "work" \(.*work\.json\) was not written/,
  );
});

test('an artifact left over from an earlier attempt is rejected as stale', async () => {
  const runner = new ScriptedRunner({
    'plan/agent': [
      { route: 'bogus', write: { '{{ run.folder }}/work.json': { items: [] } } },
      { route: 'planned' }, // does not write work.json again
      { route: 'planned', write: { '{{ run.folder }}/work.json': { items: [1] } } },
    ],
  });
  const p = plan(
    'stale',
    [step('plan', { agent: role('Plan.', ['work']), routes: [route('planned', finish, ['work'])] })],
    {
      artifacts: [work],
    },
  );
  const { result } = await runToEnd(p, runner);
  expect(result?.status).toBe('completed');
  expect(runner.calls).toHaveLength(3);
  expect(runner.calls[2].prompt).toContain('was not written by this attempt');
});

test('an artifact that fails its JSON schema is an agent-protocol failure with the schema error', async () => {
  const runner = new ScriptedRunner({
    'plan/agent': [
      { route: 'planned', write: { '{{ run.folder }}/work.json': { tasks: [] } } },
      { route: 'planned', write: { '{{ run.folder }}/work.json': { items: [] } } },
    ],
  });
  const p = plan(
    'schema',
    [step('plan', { agent: role('Plan.', ['work']), routes: [route('planned', finish, ['work'])] })],
    {
      artifacts: [work],
    },
  );
  const { result } = await runToEnd(p, runner);
  expect(result?.status).toBe('completed');
  expect(runner.calls[1].prompt).toMatch(/required artifact "work" .* is invalid: .*items/);
});

const items: WorklistSpec = {
  name: 'items',
  from: 'work',
  collection: 'items',
  id: 'id',
  title: 'title',
  status: 'status',
};
const workWithItems = (n: number) => ({
  items: Array.from({ length: n }, (_, i) => ({
    id: `item-${i + 1}`,
    title: `Item ${i + 1}`,
    status: 'pending',
  })),
});

function worklistPlan(sop: string, n: number, concurrency: number, delayMs = 0) {
  const runner = new ScriptedRunner({
    'plan/agent': [{ route: 'planned', write: { '{{ run.folder }}/work.json': workWithItems(n) } }],
    'implement/agent': [{ route: 'done', delayMs }],
  });
  const p = plan(
    sop,
    [
      step('plan', { agent: role('Plan.', ['work']), routes: [route('planned', to('implement'), ['work'])] }),
      step('implement', {
        agent: role('Implement {{ item.title }}.'),
        forEach: { worklist: 'items', concurrency },
        routes: [route('done', { kind: 'advance', exhausted: finish })],
      }),
    ],
    { artifacts: [work], worklists: [items] },
  );
  return { runner, p };
}

test('a worklist of 3 items runs in order and writes each item status back', async () => {
  const { runner, p } = worklistPlan('wl', 3, 1);
  const { result, run } = await runToEnd(p, runner);
  expect(result?.status).toBe('completed');
  const implemented = runner.calls.filter((c) => c.step === 'implement');
  expect(implemented.map((c) => c.item)).toEqual(['item-1', 'item-2', 'item-3']);
  expect(implemented[1].prompt).toContain('Implement Item 2.');
  const written = JSON.parse(fs.readFileSync(path.join(run.runFolder, 'work.json'), 'utf8'));
  expect(written.items.map((i: { status: string }) => i.status)).toEqual(['done', 'done', 'done']);
});

test('a worklist with concurrency 2 runs two items at once, never three', async () => {
  // long enough for an item to overlap the next one's worktree set-up on a loaded machine
  const { runner, p } = worklistPlan('wlc', 4, 2, 2_000);
  const { result } = await runToEnd(p, runner);
  expect(result?.status).toBe('completed');
  const calls = runner.calls.filter((c) => c.step === 'implement');
  const overlapAt = (t: number) => calls.filter((c) => c.startedAt <= t && t < c.endedAt).length;
  const peak = Math.max(...calls.map((c) => overlapAt(c.startedAt)));
  expect(peak).toBe(2);
});

test('a DAG runs its two independent branches at the same time and joins them', async () => {
  const runner = new ScriptedRunner({
    'diagnose/agent': [{ route: 'done', summary: 'diagnosis: churn' }],
    // long enough for one branch to overlap the other's worktree set-up on a loaded machine
    'segment/agent': [{ route: 'done', delayMs: 2_000 }],
    'channels/agent': [{ route: 'done', delayMs: 2_000 }],
    'messaging/agent': [{ route: 'done' }],
  });
  const done = [route('done', finish)];
  const p = plan('dag', [
    step('diagnose', { agent: role('Diagnose.'), routes: done }),
    step('segment', { agent: role('Segment.'), after: ['diagnose'], routes: done }),
    step('channels', { agent: role('Channels.'), after: ['diagnose'], routes: done }),
    step('messaging', {
      agent: role('Messaging using {{ steps.segment.route }}.'),
      after: ['segment', 'channels'],
      routes: done,
    }),
  ]);
  const { result } = await runToEnd(p, runner);
  expect(result?.status).toBe('completed');
  const [segment] = runner.calls.filter((c) => c.step === 'segment');
  const [channels] = runner.calls.filter((c) => c.step === 'channels');
  const [messaging] = runner.calls.filter((c) => c.step === 'messaging');
  expect(segment.startedAt).toBeLessThan(channels.endedAt);
  expect(channels.startedAt).toBeLessThan(segment.endedAt);
  expect(messaging.startedAt).toBeGreaterThanOrEqual(Math.max(segment.endedAt, channels.endedAt));
  expect(messaging.prompt).toContain('Messaging using done.');
  expect(Object.keys(result?.outputs ?? {}).sort()).toEqual(['channels', 'diagnose', 'messaging', 'segment']);
});

test('a command step routes on its exit code and hands its output tail to the next prompt', async () => {
  const runner = new ScriptedRunner({
    'fix/agent': [{ route: 'fixed', write: { 'fixed.txt': 'yes' } }],
    'report/agent': [{ route: 'done' }],
  });
  const p = plan('cmd', [
    step('tests', {
      kind: 'command',
      command: {
        run: 'test -f fixed.txt && echo ALL GREEN || (echo "FAIL: fixed.txt missing"; exit 3)',
        timeoutMs: 10_000,
      },
      routes: [route('passed', to('report')), route('failed', to('fix'))],
    }),
    step('fix', { agent: role('Fix it.'), routes: [route('fixed', to('tests'))] }),
    step('report', { agent: role('Report.'), routes: [route('done', finish)] }),
  ]);
  const { result } = await runToEnd(p, runner);
  expect(result?.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual([
    'tests:failed',
    'fix:fixed',
    'tests:passed',
    'report:done',
  ]);
  expect(runner.prompts('fix/agent')[0]).toContain('exited 3');
  expect(runner.prompts('fix/agent')[0]).toContain('FAIL: fixed.txt missing');
  expect(runner.prompts('report/agent')[0]).toContain('ALL GREEN');
});

test('a USD budget stops the run before the next agent step, naming the budget', async () => {
  const runner = new ScriptedRunner({
    'a/agent': [{ route: 'next', costUsd: 0.3 }],
    'b/agent': [{ route: 'next', costUsd: 0.3 }],
  });
  const p = plan(
    'budget',
    [
      step('a', { agent: role('A.'), routes: [route('next', to('b'))] }),
      step('b', { agent: role('B.'), routes: [route('next', to('a'))] }),
    ],
    { budgets: { maxUsd: 0.5 } },
  );
  const { error } = await runToEnd(p, runner);
  expect(runner.calls.map((c) => c.step)).toEqual(['a', 'b']);
  expect(error?.cause?.message).toMatch(
    /^budget max_usd \(0\.5\) reached: 0\.6000 USD spent before a could start/,
  );
});

describe('human input', () => {
  const answerSchema = {
    type: 'object',
    required: ['approve'],
    properties: { approve: { type: 'boolean' }, guidance: { type: 'string' } },
    additionalProperties: false,
  };

  test('rework cap → request input → a wrong answer is rejected synchronously → the right one continues the run', async () => {
    const runner = new ScriptedRunner({
      'plan/producer': [{ write: { '{{ run.folder }}/work.json': { items: [] } } }],
      'plan/verifier': [{ route: 'needs_rework', details: 'still bad' }],
      'ship/agent': [{ route: 'done' }],
    });
    const p = plan(
      'gate',
      [
        step('plan', {
          kind: 'produce_verify',
          producer: role('Plan.', ['work']),
          verifier: role('Review.'),
          maxRework: 1,
          onReworkExhausted: {
            kind: 'request_input',
            request: {
              question: 'The plan was rejected {{ step.rework }} times. Approve anyway?',
              schema: answerSchema,
            },
          },
          routes: [route('accepted', to('ship'), ['work']), route('needs_rework', to('plan'))],
        }),
        step('ship', { agent: role('Ship.'), routes: [route('done', finish)] }),
      ],
      { artifacts: [work] },
    );
    await withRun(p, runner, async ({ handle }) => {
      const waiting = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.status === 'waiting_input' ? s : undefined;
      });
      expect(waiting.pendingInput?.question).toBe('The plan was rejected 2 times. Approve anyway?');
      // what the Web UI shows for the run while it waits
      const { currentDetails } = await handle.query<{ currentDetails: string }>(
        '__temporal_workflow_metadata',
      );
      expect(currentDetails).toContain('**gate** · waiting_input');
      expect(currentDetails).toContain('Approve anyway?');

      const rejected = await handle
        .executeUpdate(answerUpdate, { args: [{ value: { approve: 'yes' } }] })
        .catch((err: Error & { cause?: Error }) => err);
      expect((rejected as Error & { cause?: Error }).cause?.message).toMatch(
        /does not fit the requested schema: answer\/approve: Instance type "string" is invalid. Expected "boolean"/,
      );
      expect((await handle.query(statusQuery)).status).toBe('waiting_input');

      await handle.executeUpdate(answerUpdate, { args: [{ value: { approve: true } }] });
      const result = (await handle.result()) as RunResult;
      await recordHistory(handle, 'gate');
      expect(result.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual([
        'plan:needs_rework',
        'plan:needs_rework',
        'plan:accepted',
        'ship:done',
      ]);
    });
  });

  test('an input step waits, is answered, and the answer reaches the next prompt; a message is injected too', async () => {
    const runner = new ScriptedRunner({ 'apply/agent': [{ route: 'done' }] });
    const p = plan('ask', [
      step('ask', {
        kind: 'input',
        input: {
          question: 'Which database?',
          schema: { type: 'object', required: ['db'], properties: { db: { enum: ['pg', 'mysql'] } } },
        },
        routes: [route('answered', to('apply'))],
      }),
      step('apply', { agent: role('Use {{ steps.ask.payload.db }}.'), routes: [route('done', finish)] }),
    ]);
    await withRun(p, runner, async ({ handle }) => {
      await eventually(async () =>
        (await handle.query(statusQuery)).status === 'waiting_input' ? true : undefined,
      );
      await handle.signal(messageSignal, 'Prefer small commits.');
      await handle.executeUpdate(answerUpdate, { args: [{ value: { db: 'pg' } }] });
      await handle.result();
      await recordHistory(handle, 'ask');
    });
    const [prompt] = runner.prompts('apply/agent');
    expect(prompt).toContain('Use pg.');
    expect(prompt).toContain('Message from the operator: Prefer small commits.');
  });
});

test('cancelling a run mid-step aborts the running harness and ends the run as cancelled', async () => {
  const runner = new ScriptedRunner({ 'slow/agent': [{ route: 'done', delayMs: 60_000 }] });
  const p = plan('cancel', [
    step('slow', { agent: role('Take your time.'), routes: [route('done', finish)] }),
  ]);
  await withRun(p, runner, async ({ handle }) => {
    await eventually(async () => (runner.calls.length > 0 ? true : undefined));
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    // the activity learns of the cancellation through its heartbeat
    await eventually(async () => (runner.calls[0].aborted ? true : undefined), 30_000);
  });
});

test('a long worklist continues as new and still completes every item exactly once', async () => {
  const { runner, p } = worklistPlan('long', 30, 1);
  const { result, handle } = await runToEnd(p, runner, { continueAsNewAfterEvents: 60 });
  expect(result?.status).toBe('completed');
  const items = runner.calls.filter((c) => c.step === 'implement').map((c) => c.item);
  expect(items).toHaveLength(30);
  expect(new Set(items).size).toBe(30);
  const description = await handle.describe();
  expect(description.runId).not.toBe(handle.firstExecutionRunId);
});

test('a worklist file the runtime cannot read fails the run with the file and the fault, status failed', async () => {
  const { p } = worklistPlan('wlbad', 1, 1);
  const runner = new ScriptedRunner({
    'plan/agent': [
      { route: 'planned', write: { '{{ run.folder }}/work.json': '{ "items": [{ "title": "no id" }] }' } },
    ],
  });
  await withRun(p, runner, async ({ handle, run }) => {
    const error = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error }) => e,
    );
    expect(error?.cause?.message).toMatch(
      /^(loadWorklistWindow: )?worklist source work \(\{\{ run\.folder \}\}\/work\.json\): items\[0\] has no "id"$/,
    );
    expect(await handle.query(statusQuery)).toMatchObject({
      status: 'failed',
      failure: error?.cause?.message,
    });
    const summary = JSON.parse(fs.readFileSync(path.join(run.runFolder, 'run.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'failed', failure: error?.cause?.message });
    await recordHistory(handle, 'wlbad');
  });
});

test('a rerun of a worklist step does the chosen items again, once each, even across continue-as-new', async () => {
  const { runner, p } = worklistPlan('rerun', 5, 1);
  let before = 0;
  const run = await withRun(p, runner, async ({ handle, run, taskQueue }) => {
    expect(((await handle.result()) as RunResult).status).toBe('completed');
    before = runner.calls.length;
    // what `sop rerun --step implement --item item-2 --item item-4` starts
    const checkpoint = await handle.query(checkpointQuery);
    const again = await ctx.client.workflow.start(p.sop, {
      workflowId: handle.workflowId,
      taskQueue,
      args: [
        {
          ...checkpoint.input,
          // small, so the rerun continues as new between its two items
          options: { ...checkpoint.input.options, continueAsNewAfterEvents: 20 },
          restart: {
            state: checkpoint.state,
            steps: [],
            rerun: { step: 'implement', items: ['item-2', 'item-4'] },
          },
        } satisfies RunInput,
      ],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    expect(((await again.result()) as RunResult).status).toBe('completed');
    expect((await again.describe()).runId).not.toBe(again.firstExecutionRunId);
    // the execution that reopens the items and hands over to the next one
    await recordHistory(again, 'rerun', again.firstExecutionRunId);
    return run;
  });
  expect(runner.calls.slice(before).map((c) => `${c.step}:${c.item}`)).toEqual([
    'implement:item-2',
    'implement:item-4',
  ]);
  const written = JSON.parse(fs.readFileSync(path.join(run.runFolder, 'work.json'), 'utf8'));
  expect(written.items.map((i: { status: string }) => i.status)).toEqual(Array(5).fill('done'));
});

test('a rate limit with a reset time parks the run on a durable timer, then the same step resumes', async () => {
  const runner = new ScriptedRunner({ 'call/agent': [{ rateLimitMs: 2_000 }, { route: 'done' }] });
  const p = plan('ratelimit', [step('call', { agent: role('Call.'), routes: [route('done', finish)] })]);
  const { result, handle, run } = await runToEnd(p, runner);
  expect(result?.status).toBe('completed');
  const [limited, resumed] = runner.calls;
  expect(resumed.startedAt - limited.startedAt).toBeGreaterThanOrEqual(1_900);
  // the parking timer carries its reason as the timer summary shown in the Web UI
  const parked = (await handle.fetchHistory()).events?.filter((e) =>
    Buffer.from(e.userMetadata?.summary?.data ?? [])
      .toString()
      .includes('rate limit: resume call'),
  );
  expect(parked?.map((e) => Boolean(e.timerStartedEventAttributes))).toEqual([true]);
  // parking is not an agent-protocol failure: the resumed execution is still attempt 1
  expect(resumed.attempt).toBe(1);

  // the parked launch has a record of its own that agrees everywhere (runToEnd checked the agreement)
  const lines = fs
    .readFileSync(path.join(run.runFolder, 'executions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatchObject({ accepted: false, launch: 1, route: null });
  expect(lines[0].reason).toMatch(/^rate limited: 429 Too Many Requests/);
  const record = JSON.parse(
    fs.readFileSync(path.join(run.runFolder, lines[0].path, 'evidence.json'), 'utf8'),
  );
  expect(record.rateLimited.parkedUntil).toBe(lines[0].rateLimitedUntil);
  expect(record.outcome).toBeNull();
  const events = await runSop(['logs', p.sop, run.taskId, '--events']);
  expect(String(events.stdout)).toMatch(
    new RegExp(
      `rate limited +call · agent · attempt 1 · codex: parked until ${lines[0].rateLimitedUntil.replace(/\./g, '\\.')} \\(429 Too Many Requests`,
    ),
  );
  expect(String(events.stdout)).not.toContain('step failed');
  const verified = await runSop(['verify', '--against-history', p.sop, run.taskId, run.runFolder]);
  expect({ exitCode: verified.exitCode, stderr: verified.stderr }).toEqual({ exitCode: 0, stderr: '' });
  expect(String(verified.stdout)).toMatch(/2 evidence records/);
});

test('a launch the runtime itself fails on (not the harness) has its own record, and the step launches again', async () => {
  const runner = new ScriptedRunner({ 'call/agent': [{ route: 'done' }] });
  const p = plan('activityerror', [step('call', { agent: role('Call.'), routes: [route('done', finish)] })]);
  const run = makeWorkspace(p.sop, randomUUID());
  // the first launch cannot write its prompt.md: a directory stands where it goes
  fs.mkdirSync(path.join(run.runFolder, 'steps/call/0001-agent-a1-l1/prompt.md'), { recursive: true });
  await withWorker(
    ctx,
    async (taskQueue) => {
      const result = (await (await start(taskQueue, p, run)).result()) as RunResult;
      expect(result.status).toBe('completed');
      expect(runner.calls).toHaveLength(1);
      const lines = fs
        .readFileSync(path.join(run.runFolder, 'executions.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.path, l.launch, l.accepted])).toEqual([
        ['steps/call/0001-agent-a1-l1', 1, false],
        [expect.stringMatching(/^steps\/call\/\d{4}-agent-a1-l2$/), 2, true],
      ]);
      expect(lines[0].reason).toMatch(/^the runtime failed on this launch: EISDIR/);
      expect(lines[0].launchFailure).toBe(lines[0].reason);
      const record = JSON.parse(
        fs.readFileSync(path.join(run.runFolder, 'steps/call/0001-agent-a1-l1/evidence.json'), 'utf8'),
      );
      expect(record).toMatchObject({ launchFailure: lines[0].reason, promptSha256: null, outcome: null });
      expect(result.usage.agentRuns).toBe(2);
      const events = String((await runSop(['logs', p.sop, run.taskId, '--events'])).stdout);
      expect(events).toMatch(
        /launch failed +call · agent · attempt 1 · codex: the runtime failed on this launch: EISDIR/,
      );
      await expectAgreement({ sop: p.sop, task: run.taskId, runFolder: run.runFolder });
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
});

test('an input step that gets no answer in time takes its timeout route', async () => {
  const runner = new ScriptedRunner({ 'fallback/agent': [{ route: 'done' }] });
  const p = plan('inputtimeout', [
    step('ask', {
      kind: 'input',
      input: {
        question: 'Proceed?',
        schema: { type: 'boolean' },
        timeoutMs: 1_500,
        onTimeout: to('fallback'),
      },
      routes: [route('answered', finish)],
    }),
    step('fallback', { agent: role('No answer came; use the defaults.'), routes: [route('done', finish)] }),
  ]);
  const { result } = await runToEnd(p, runner);
  expect(result?.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual(['ask:timed_out', 'fallback:done']);
});

test('a harness that exceeds the step timeout is stopped and launched again, then fails the run naming the step', async () => {
  const runner = new ScriptedRunner({ 'hang/agent': [{ route: 'done', delayMs: 30_000 }] });
  const p = plan('steptimeout', [
    step('hang', { agent: role('Hang.'), timeoutMs: 1_000, routes: [route('done', finish)] }),
  ]);
  const { error } = await runToEnd(p, runner);
  expect(runner.calls).toHaveLength(3); // max_launch_failures defaults to 3
  expect(runner.calls.every((c) => c.aborted)).toBe(true);
  expect(error?.cause?.message).toBe(
    'hang · agent · attempt 1 · codex: the harness launch failed 3 time(s) (max_launch_failures 3): the harness ran longer than the step timeout (1 s) and was stopped',
  );
}, 60_000);

test('a crashed harness launch is launched again without spending an attempt; every launch is an agent run', async () => {
  const runner = new ScriptedRunner({
    'flaky/agent': [{ crash: 'harness crashed (scripted)' }, { route: 'done' }],
  });
  const p = plan('crashonce', [step('flaky', { agent: role('Work.'), routes: [route('done', finish)] })]);
  const { result, run } = await runToEnd(p, runner);
  expect(result?.status).toBe('completed');
  expect(runner.calls.map((c) => c.attempt)).toEqual([1, 1]);
  expect(result?.usage.agentRuns).toBe(2);
  expect(result?.relaunches).toEqual({ flaky: { workerLosses: 0, launchFailures: 1, retrying: false } });
  const lines = fs
    .readFileSync(path.join(run.runFolder, 'executions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines.map((l) => [l.path, l.accepted, l.reason])).toEqual([
    [path.join('steps', 'flaky', '0001-agent-a1-l1'), false, 'harness crashed (scripted)'],
    [path.join('steps', 'flaky', '0002-agent-a1-l2'), true, null],
  ]);
});

test('max_launch_failures: a step whose harness keeps failing ends the run after that many launches', async () => {
  const runner = new ScriptedRunner({ 'broken/agent': [{ crash: 'model API error 500 (scripted)' }] });
  const p = plan('crashloop', [
    step('broken', { agent: role('Work.'), maxLaunchFailures: 2, routes: [route('done', finish)] }),
  ]);
  const { error } = await runToEnd(p, runner);
  expect(runner.calls).toHaveLength(2);
  expect(error?.cause?.message).toBe(
    'broken · agent · attempt 1 · codex: the harness launch failed 2 time(s) (max_launch_failures 2): model API error 500 (scripted)',
  );
});

test('an execution rejected by the runtime is recorded as not accepted, with the reason, although it named a route', async () => {
  const runner = new ScriptedRunner({
    'edit/agent': [{ route: 'done', violations: ['wrote secrets/key.txt (deny_write)'] }, { route: 'done' }],
  });
  const p = plan('rejected', [step('edit', { agent: role('Edit.'), routes: [route('done', finish)] })]);
  const { result, run } = await runToEnd(p, runner);
  expect(result?.status).toBe('completed');
  const lines = fs
    .readFileSync(path.join(run.runFolder, 'executions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines.map((l) => [l.route, l.accepted, l.reason])).toEqual([
    ['done', false, 'policy violation: wrote secrets/key.txt (deny_write)'],
    ['done', true, null],
  ]);
});

test('an artifact path that escapes the workspace fails the step with a clear message, before any agent runs', async () => {
  const runner = new ScriptedRunner({ 'plan/agent': [{ route: 'planned' }] });
  const escaping: ArtifactSpec = {
    name: 'work',
    kind: 'json',
    path: '{{ run.folder }}/../../../../../etc/work.json',
    required: true,
  };
  const p = plan(
    'escape',
    [step('plan', { agent: role('Plan.', ['work']), routes: [route('planned', finish, ['work'])] })],
    {
      artifacts: [escaping],
    },
  );
  const { error } = await runToEnd(p, runner);
  expect(runner.calls).toHaveLength(0);
  expect(error?.cause?.message).toMatch(/step plan: path .* escapes the workspace/);
});
