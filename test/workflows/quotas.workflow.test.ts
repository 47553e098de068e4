import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { fetchRunEvents } from '../../src/client/run-events';
import type { ExecutionPlan } from '../../src/shapes/execution-plan';
import { statusQuery } from '../../src/shapes/messages';
import {
  QUOTA_WORKFLOW_TYPE,
  type QuotaAsk,
  type QuotaLimits,
  quotaAskSignal,
  quotaReleaseSignal,
  quotaViewQuery,
  quotaWorkflowId,
} from '../../src/shapes/quota';
import type { RunResult } from '../../src/shapes/run';
import { scheduleOptions } from '../../src/triggers/schedules';
import { finish, makeWorkspace, plan, role, route, runRequest, servePlans, step } from '../support/plans';
import { type RecordedCall, ScriptedRunner } from '../support/scripted-runner';
import { connectForTest, eventually, type TemporalTestContext, withWorker } from '../support/temporal';

// Fleet-wide quotas (docs/quotas.md) with the scripted stand-in for the harness on the real dev server: the
// quota workflow of a key (src/workflows/quota.ts) admits at most its limit of agent launches across runs, in
// priority then arrival order, frees the lease of a run that ended without giving it back, and holds a launch
// that would pass a USD cap with the figures shown. Each case has a key of its own (a quota workflow lives on
// the queue of the run that started it).

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

/** A one-step SOP whose step runs on codex/<model>, with that key declared. */
function quotaPlan(sop: string, model: string, limits: QuotaLimits): ExecutionPlan {
  return plan(sop, [step('work', { agent: { ...role('Work.'), model }, routes: [route('done', finish)] })], {
    quotas: { [`codex/${model}`]: limits },
  });
}

/** The most calls that ran at the same time. */
function mostAtOnce(calls: RecordedCall[]): number {
  const edges = calls.flatMap((c) => [
    { at: c.startedAt, d: 1 },
    { at: c.endedAt, d: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of edges) {
    now += e.d;
    most = Math.max(most, now);
  }
  return most;
}

/** Starts `count` runs of `p` on the queue; returns their handles. */
async function startRuns(p: ExecutionPlan, taskQueue: string, count: number): Promise<WorkflowHandle[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const run = makeWorkspace(p.sop, randomUUID());
      return ctx.client.workflow.start(p.sop, {
        workflowId: `${p.sop}/${run.taskId}`,
        taskQueue,
        args: [runRequest(p, run)],
      });
    }),
  );
}

const view = (key: string) => ctx.client.workflow.getHandle(quotaWorkflowId(key)).query(quotaViewQuery);

test('limit 2 concurrent, 12 runs: never more than 2 agent launches at once, all 12 complete', async () => {
  const model = `m-${randomUUID().slice(0, 8)}`;
  const p = quotaPlan('quota-twelve', model, { concurrent: 2 });
  const runner = new ScriptedRunner({ 'work/agent': () => ({ route: 'done', delayMs: 1_000 }) });
  await withWorker(
    ctx,
    async (taskQueue) => {
      const handles = await startRuns(p, taskQueue, 12);
      const results = (await Promise.all(handles.map((h) => h.result()))) as RunResult[];
      expect(results.map((r) => r.status)).toEqual(Array(12).fill('completed'));
      expect(runner.calls).toHaveLength(12);
      // (how many overlap depends on how fast the runs get going on a loaded machine: never more than 2)
      expect(mostAtOnce(runner.calls)).toBeLessThanOrEqual(2);
      // and some of them had to wait in line for it
      const logged = await Promise.all(handles.map((h) => fetchRunEvents(ctx.client, h)));
      const waited = logged.filter((events) => events.some((e) => e.text.startsWith('waiting for quota')));
      expect(waited.length).toBeGreaterThan(0);
      const after = await view(`codex/${model}`);
      expect(after).toMatchObject({ holders: [], waiters: [], admitted: 12 });
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
}, 120_000);

test('a burst of 100 asks: exactly the limit admitted, the rest in line by priority then arrival, through continue-as-new', async () => {
  const key = `burst-${randomUUID().slice(0, 8)}`;
  // the asks come from one run that waits for a person (its workflow takes the notices and ignores them)
  const p = plan('quota-burst-holder', [
    step('ask', {
      kind: 'input',
      input: { question: 'wait', schema: { type: 'object' } },
      routes: [route('answered', finish)],
    }),
  ]);
  const runner = new ScriptedRunner({});
  await withWorker(
    ctx,
    async (taskQueue) => {
      const [holder] = await startRuns(p, taskQueue, 1);
      await eventually(async () =>
        (await holder.query(statusQuery)).status === 'waiting_input' ? true : undefined,
      );
      const { runId } = await holder.describe();
      const limits: QuotaLimits = { concurrent: 3, holderCheckMs: 3_600_000 };
      // every 7th ask is a person's (priority 2), the others a schedule's (3)
      const asks: QuotaAsk[] = Array.from({ length: 100 }, (_, i) => ({
        key,
        leaseId: `lease-${i}`,
        workflowId: holder.workflowId,
        runId: runId!,
        priority: i % 7 === 0 ? 2 : 3,
        what: `ask ${i}`,
        limits,
      }));
      const ask = (a: QuotaAsk) =>
        ctx.client.workflow.signalWithStart(QUOTA_WORKFLOW_TYPE, {
          workflowId: quotaWorkflowId(key),
          taskQueue,
          // a short history: it continues as new during the burst, carrying holders and line
          args: [{ key, maxEvents: 150 }],
          signal: quotaAskSignal,
          signalArgs: [a],
        });
      await ask(asks[0]);
      const firstRun = (await ctx.client.workflow.getHandle(quotaWorkflowId(key)).describe()).runId;
      await Promise.all(asks.slice(1).map(ask));
      const full = await eventually(async () => {
        const v = await view(key);
        return v.holders.length + v.waiters.length === 100 ? v : undefined;
      });
      expect(full.holders).toHaveLength(3);
      expect(full.admitted).toBe(3);
      // then three asks of the lowest priority, one after the other: last in line, in the order they came
      const late = ['late-1', 'late-2', 'late-3'];
      for (const leaseId of late) await ask({ ...asks[1], leaseId, priority: 5 });
      const lined = await eventually(async () => {
        const v = await view(key);
        return v.waiters.length === 100 ? v : undefined;
      });
      expect(lined.waiters.slice(-3).map((w) => w.leaseId)).toEqual(late);
      const persons = lined.waiters.filter((w) => w.priority === 2).map((w) => w.leaseId);
      // 15 asks of a person (i % 7 === 0) minus those admitted in the burst: they are served first
      expect(persons.length).toBe(15 - full.holders.filter((h) => h.priority === 2).length);
      // leases given back admit exactly as many of the next in line, never more
      const quota = ctx.client.workflow.getHandle(quotaWorkflowId(key));
      for (const h of full.holders) await quota.signal(quotaReleaseSignal, { leaseId: h.leaseId });
      const moved = await eventually(async () => {
        const v = await view(key);
        return v.admitted === 6 && v.holders.length === 3 ? v : undefined;
      });
      expect(moved.holders.map((h) => h.leaseId)).toEqual(persons.slice(0, 3));
      expect(moved.waiters.map((w) => w.leaseId)).toEqual(lined.waiters.slice(3).map((w) => w.leaseId));
      // once its notices have arrived it continues as new (its history is past 150 events), with the same line
      await eventually(async () => ((await quota.describe()).runId !== firstRun ? true : undefined), 60_000);
      const carried = await view(key);
      expect(carried.holders.map((h) => h.leaseId)).toEqual(persons.slice(0, 3));
      expect(carried.waiters.map((w) => w.leaseId)).toEqual(moved.waiters.map((w) => w.leaseId));
      expect(carried.admitted).toBe(6);
      await holder.terminate('test over');
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
}, 120_000);

test("a run a schedule starts waits in line at the priority its trigger declares: before a person's run that asked first", async () => {
  const model = `m-${randomUUID().slice(0, 8)}`;
  const key = `codex/${model}`;
  const p = quotaPlan('quota-trigger-priority', model, { concurrent: 1 });
  // the first launch holds the key until its run is cancelled; the others are quick
  const runner = new ScriptedRunner({
    'work/agent': (call) => ({ route: 'done', delayMs: runner.calls.indexOf(call) === 0 ? 60_000 : 1_500 }),
  });
  await withWorker(
    ctx,
    async (taskQueue) => {
      const [holder] = await startRuns(p, taskQueue, 1);
      await eventually(async () =>
        (await view(key).catch(() => undefined))?.holders.length ? true : undefined,
      );
      const [person] = await startRuns(p, taskQueue, 1);
      await eventually(async () => ((await view(key)).waiters.length === 1 ? true : undefined));
      // the trigger as the compiler makes it (`priority: 1`), as `sop triggers sync` makes its Schedule
      const name = `urgent-${randomUUID().slice(0, 8)}`;
      const made = scheduleOptions(
        {
          spec: {
            kind: 'schedule',
            name,
            sop: p.sop,
            schedule: { cron: [], everyMs: 86_400_000, overlap: 'allow_all' },
            input: { request: 'urgent sweep' },
            priority: 1,
          },
          bundleHash: p.bundleHash,
          projectDir: makeWorkspace(p.sop, name).workspace,
        },
        taskQueue,
      );
      if ('problem' in made) throw new Error(made.problem);
      const schedule = await ctx.client.schedule.create({ ...made.options, state: { paused: true } });
      try {
        await schedule.trigger();
        const lined = await eventually(async () => {
          const v = await view(key);
          return v.waiters.length === 2 ? v : undefined;
        });
        const scheduled = lined.waiters[0].workflowId;
        expect(scheduled.startsWith(`${p.sop}/${name}-`)).toBe(true);
        expect(lined.waiters.map((w) => w.priority)).toEqual([1, 2]);
        expect(lined.waiters[1].workflowId).toBe(person.workflowId);
        // the holder gives the key back: the scheduled run gets it, the person's run still waits
        await holder.cancel();
        const next = await eventually(async () => {
          const v = await view(key);
          return v.holders[0]?.workflowId !== holder.workflowId && v.holders.length === 1 ? v : undefined;
        });
        expect(next.holders.map((h) => h.workflowId)).toEqual([scheduled]);
        expect(next.waiters.map((w) => w.workflowId)).toEqual([person.workflowId]);
        const results = (await Promise.all(
          [scheduled, person.workflowId].map((id) => ctx.client.workflow.getHandle(id).result()),
        )) as RunResult[];
        expect(results.map((r) => r.status)).toEqual(['completed', 'completed']);
      } finally {
        await schedule.delete();
      }
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
}, 120_000);

test('a run that ends holding a lease (terminated) gives it up within the holder check', async () => {
  const model = `m-${randomUUID().slice(0, 8)}`;
  const key = `codex/${model}`;
  const p = quotaPlan('quota-dead-holder', model, { concurrent: 1, holderCheckMs: 1_000 });
  const runner = new ScriptedRunner({
    'work/agent': (call) => ({ route: 'done', delayMs: runner.calls.indexOf(call) === 0 ? 60_000 : 100 }),
  });
  await withWorker(
    ctx,
    async (taskQueue) => {
      const [first] = await startRuns(p, taskQueue, 1);
      await eventually(async () =>
        (await view(key).catch(() => undefined))?.holders.length ? true : undefined,
      );
      const [second] = await startRuns(p, taskQueue, 1);
      const waiting = await eventually(async () => {
        const active = (await second.query(statusQuery)).active;
        return active[0]?.waitingForQuota;
      });
      expect(waiting).toBe(`waiting for quota ${key}: 1 of 1 in use, 1st in line`);
      expect((await second.describe()).memo?.waitingForQuota).toBe(waiting);
      // the holder's run dies without a word: no release signal, its activity left running
      const killedAt = Date.now();
      await first.terminate('simulated lost run');
      const result = (await second.result()) as RunResult;
      expect(result.status).toBe('completed');
      const freedAfterMs = runner.calls[1].startedAt - killedAt;
      expect(freedAfterMs).toBeLessThan(5_000);
      expect((await second.describe()).memo?.waitingForQuota).toBeUndefined();
      // sop logs: when it waited and when it was granted
      const logged = (await fetchRunEvents(ctx.client, second)).filter((e) => e.kind === 'quota');
      expect(logged.map((e) => e.text)).toEqual([waiting, `${key} granted`]);
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
}, 120_000);

test('tokens per minute: a launch waits while the launches that ended within the window used the limit, with the figures, and starts as the window slides', async () => {
  const model = `m-${randomUUID().slice(0, 8)}`;
  const key = `codex/${model}`;
  const p = quotaPlan('quota-tokens', model, { tokensPerMinute: 1_000 });
  // each launch reports 500 tokens in and 50 out
  const runner = new ScriptedRunner({ 'work/agent': () => ({ route: 'done', tokens: 500 }) });
  // the key's workflow started ahead of the runs with a window of 8 s instead of 60 (the runs only signal it)
  const windowMs = 8_000;
  await withWorker(
    ctx,
    async (taskQueue) => {
      await ctx.client.workflow.start(QUOTA_WORKFLOW_TYPE, {
        workflowId: quotaWorkflowId(key),
        taskQueue,
        args: [{ key, tokenWindowMs: windowMs }],
      });
      // two launches at once: nothing used yet, both start (the limit is on tokens, not on launches)
      const first = await startRuns(p, taskQueue, 2);
      const done = (await Promise.all(first.map((h) => h.result()))) as RunResult[];
      expect(done.map((r) => r.status)).toEqual(['completed', 'completed']);
      expect(mostAtOnce(runner.calls)).toBeLessThanOrEqual(2);
      const [third] = await startRuns(p, taskQueue, 1);
      const waiting = await eventually(
        async () => (await third.query(statusQuery)).active[0]?.waitingForQuota,
      );
      expect(waiting).toBe(
        `waiting for quota ${key}: 0 in use, 1st in line (tokens_per_minute 1000: 1100 used in the last 8 s)`,
      );
      expect(runner.calls).toHaveLength(2);
      expect(await view(key)).toMatchObject({ holders: [], tokensLastMinute: 1_100 });
      expect(((await third.result()) as RunResult).status).toBe('completed');
      // it started only once the first launch to end had left the window (its lease went back after it ended)
      const firstEnded = Math.min(runner.calls[0].endedAt, runner.calls[1].endedAt);
      expect(runner.calls[2].startedAt - firstEnded).toBeGreaterThanOrEqual(windowMs);
      const logged = (await fetchRunEvents(ctx.client, third)).filter((e) => e.kind === 'quota');
      expect(logged.map((e) => e.text)).toEqual([waiting, `${key} granted`]);
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
}, 120_000);

describe('a USD cap per day', () => {
  test('wait: the run that would pass it waits with the figures shown', async () => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    const key = `codex/${model}`;
    const p = quotaPlan('quota-usd-wait', model, { usdPerDay: 0.05 });
    const runner = new ScriptedRunner({ 'work/agent': () => ({ route: 'done', costUsd: 0.06 }) });
    await withWorker(
      ctx,
      async (taskQueue) => {
        const [first] = await startRuns(p, taskQueue, 1);
        expect(((await first.result()) as RunResult).status).toBe('completed');
        const [second] = await startRuns(p, taskQueue, 1);
        const waiting = await eventually(
          async () => (await second.query(statusQuery)).active[0]?.waitingForQuota,
        );
        expect(waiting).toMatch(
          new RegExp(
            `^waiting for quota ${key}: 0 in use, 1st in line \\(usd_per_day 0.05: \\$0.0600 spent since \\d{4}-\\d\\d-\\d\\d 00:00 UTC; the next window starts \\d{4}-\\d\\d-\\d\\d 00:00 UTC\\)$`,
          ),
        );
        expect(runner.calls).toHaveLength(1);
        expect(await view(key)).toMatchObject({
          spentUsd: 0.06,
          waiters: [{ workflowId: second.workflowId }],
        });
        await second.cancel();
        await expect(second.result()).rejects.toThrow();
        // a cancelled run gives its place in line back
        await eventually(async () => ((await view(key)).waiters.length === 0 ? true : undefined));
      },
      { runners: { codex: runner }, ...servePlans(p) },
    );
  }, 60_000);

  test('fail: the run that would pass it fails with the figures', async () => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    const p = quotaPlan('quota-usd-fail', model, { usdPerDay: 0.05, onSpendCap: 'fail' });
    const runner = new ScriptedRunner({ 'work/agent': () => ({ route: 'done', costUsd: 0.06 }) });
    await withWorker(
      ctx,
      async (taskQueue) => {
        const [first] = await startRuns(p, taskQueue, 1);
        expect(((await first.result()) as RunResult).status).toBe('completed');
        const [second] = await startRuns(p, taskQueue, 1);
        const error = await second.result().then(
          () => undefined,
          (e: Error & { cause?: Error }) => e,
        );
        expect(error?.cause?.message).toMatch(
          new RegExp(`quota codex/${model} refused the launch: usd_per_day 0.05: \\$0.0600 spent since`),
        );
        expect(runner.calls).toHaveLength(1);
      },
      { runners: { codex: runner }, ...servePlans(p) },
    );
  }, 60_000);
});
