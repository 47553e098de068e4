import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../../src/shapes/messages';
import { type QuotaView, quotaViewQuery, quotaWorkflowId } from '../../src/shapes/quota';
import type { RunResult } from '../../src/shapes/run';
import { resolveTemporalTarget } from '../../src/temporal/target';
import { createTestDevServer, type TestDevServer } from '../support/dev-server';
import { finish, makeWorkspace, plan, role, route, runRequest, servePlans, step } from '../support/plans';
import { runSop } from '../support/run-sop';
import { type RecordedCall, ScriptedRunner } from '../support/scripted-runner';
import { connectForTest, eventually, withWorker } from '../support/temporal';

// Quotas across a server restart (docs/quotas.md, "A server restart"): a dev server of its own with its
// database file, killed with SIGKILL while a key is at its limit with runs in line, and started again on the
// same database. Holders and line are the quota workflow's state: they come back as they were, and the key
// never admits more than its limit.

let server: TestDevServer;
beforeAll(async () => {
  server = await createTestDevServer();
  await server.start();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

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

/** Kills the server process (no clean shutdown) and waits until it is gone. */
async function killServer(): Promise<void> {
  const pid = server.pid()!;
  process.kill(pid, 'SIGKILL');
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the server killed while a key is at its limit with runs in line: holders and line come back, never more than the limit, all complete', async () => {
  const model = `m-${randomUUID().slice(0, 8)}`;
  const key = `codex/${model}`;
  const p = plan(
    'quota-restart',
    [step('work', { agent: { ...role('Work.'), model }, routes: [route('done', finish)] })],
    {
      quotas: { [key]: { concurrent: 2 } },
    },
  );
  // the first two launches hold the key across the restart; the four that wait are quick
  const runner = new ScriptedRunner({
    'work/agent': (call) => ({ route: 'done', delayMs: runner.calls.indexOf(call) < 2 ? 20_000 : 500 }),
  });
  const ctx = await connectForTest(resolveTemporalTarget({ ...server.env }));
  try {
    await withWorker(
      ctx,
      async (taskQueue) => {
        const handles: WorkflowHandle[] = await Promise.all(
          Array.from({ length: 6 }, async () => {
            const run = makeWorkspace(p.sop, randomUUID());
            return ctx.client.workflow.start(p.sop, {
              workflowId: `${p.sop}/${run.taskId}`,
              taskQueue,
              args: [runRequest(p, run)],
            });
          }),
        );
        const quota = ctx.client.workflow.getHandle(quotaWorkflowId(key));
        const before = await eventually(async () => {
          const v = await quota.query(quotaViewQuery).catch(() => undefined);
          return v && v.holders.length === 2 && v.waiters.length === 4 ? v : undefined;
        }, 60_000);
        // (a lease is granted before its launch starts: both launches running)
        await eventually(async () => (runner.calls.length === 2 ? true : undefined), 60_000);
        const leases = (v: QuotaView) => ({
          holders: v.holders.map((h) => h.leaseId),
          waiters: v.waiters.map((w) => w.leaseId),
        });

        await killServer();
        await server.start();

        // the same holders and the same line, as the quota workflow and `sop quotas` tell it
        const after = await quota.query(quotaViewQuery);
        expect(runner.calls).toHaveLength(2);
        expect(leases(after)).toEqual(leases(before));
        expect(after.admitted).toBe(2);
        const listed = await runSop(['quotas', '--json'], { env: server.env });
        const views = JSON.parse(String(listed.stdout)) as QuotaView[];
        expect(leases(views.find((v) => v.key === key)!)).toEqual(leases(before));
        // a waiting run still says where it stands
        const waiter = handles.find((h) => h.workflowId === before.waiters[0].workflowId)!;
        const shown = await eventually(
          async () => (await waiter.query(statusQuery)).active[0]?.waitingForQuota,
        );
        expect(shown).toMatch(
          new RegExp(`^waiting for quota ${key}: 2 of 2 in use, \\d(st|nd|rd|th) in line$`),
        );

        const results = (await Promise.all(handles.map((h) => h.result()))) as RunResult[];
        expect(results.map((r) => r.status)).toEqual(Array(6).fill('completed'));
        expect(runner.calls).toHaveLength(6);
        expect(mostAtOnce(runner.calls)).toBe(2);
        expect(await quota.query(quotaViewQuery)).toMatchObject({ holders: [], waiters: [], admitted: 6 });
      },
      { runners: { codex: runner }, ...servePlans(p) },
    );
  } finally {
    await ctx.close();
  }
}, 180_000);
