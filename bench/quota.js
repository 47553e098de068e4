#!/usr/bin/env node
// What a quota lease costs (docs/quotas.md): `node bench/quota.js [--runs N]` (after `npm run build`; the dev
// server of `sop server start`, or one it starts). Runs of a 3-step chain with the instant agent, one after the
// other, without a quota and then with an uncontended one (so every acquire is granted at once): the history
// events a lease adds to a run and to the quota workflow, per acquire, and the acquire latency (the ask sent →
// the grant recorded in the run's history). Then a burst: N runs at once under `concurrent: 2`, every run's
// wait. Prints one JSON object.

const { randomUUID } = require('node:crypto');
const { Worker } = require('@temporalio/worker');
const { connectClient, connectWorkerConnection } = require('../dist/temporal/connect');
const { createActivities } = require('../dist/activities');
const { installRuntime } = require('../dist/worker/runtime');
const { prebuiltBundlePath } = require('../dist/worker/workflow-bundle');
const { quotaWorkflowId } = require('../dist/shapes/quota');
const support = require('./support');

const runsArg = process.argv.indexOf('--runs');
const N = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
const STEPS = 3;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : undefined;
};
const ms = (t) => Number(t.seconds) * 1000 + Math.round((t.nanos ?? 0) / 1e6);

/** Per run: its history length, and each acquire's latency (ask initiated → grant signaled). */
async function historyOf(client, workflowId) {
  const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
  const asks = events.filter(
    (e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'quotaAsk',
  );
  const notices = events.filter(
    (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'quotaNotice',
  );
  const grants = notices.filter((e) => {
    const data = e.workflowExecutionSignaledEventAttributes.input.payloads[0].data;
    return JSON.parse(Buffer.from(data).toString()).granted === true;
  });
  return {
    events: events.length,
    waits: grants.map((g, i) => ms(g.eventTime) - ms(asks[i].eventTime)),
  };
}

async function main() {
  installRuntime('ERROR');
  const { client, target } = await connectClient({ log: () => {} });
  const { connection } = await connectWorkerConnection({ target, startDevServer: false });
  const taskQueue = `bench-quota-${randomUUID()}`;
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { codePath: prebuiltBundlePath },
    activities: createActivities({ runners: { codex: support.instant }, plans: support.benchPlans }),
    maxConcurrentActivityTaskExecutions: 200,
  });
  const key = `bench-${randomUUID().slice(0, 8)}`;
  const plain = support.chainPlan('quota-bench-plain', STEPS);
  const withQuota = (sop, limits) => {
    const p = support.chainPlan(sop, STEPS);
    for (const s of p.steps) s.agent.quota = key;
    return { ...p, quotas: { [key]: limits } };
  };
  const free = withQuota('quota-bench-free', { concurrent: 1000 });
  const tight = withQuota('quota-bench-tight', { concurrent: 2 });
  const runOne = async (plan) => {
    const run = support.workspace(plan.sop);
    const handle = await support.startSop(client, taskQueue, plan, run);
    await handle.result();
    return handle.workflowId;
  };
  const out = await worker.runUntil(async () => {
    await runOne(plain); // warm-up
    const plainIds = [];
    let t = Date.now();
    for (let i = 0; i < N; i++) plainIds.push(await runOne(plain));
    const plainRunMs = Math.round((Date.now() - t) / N);
    const quotaIds = [];
    t = Date.now();
    for (let i = 0; i < N; i++) quotaIds.push(await runOne(free));
    const quotaRunMs = Math.round((Date.now() - t) / N);
    const plainH = await Promise.all(plainIds.map((id) => historyOf(client, id)));
    const quotaH = await Promise.all(quotaIds.map((id) => historyOf(client, id)));
    const quotaEvents = (await client.workflow.getHandle(quotaWorkflowId(key)).fetchHistory()).events.length;
    const acquires = N * STEPS;
    const started = Date.now();
    const burstIds = await Promise.all(Array.from({ length: N }, () => runOne(tight)));
    const burstMs = Date.now() - started;
    const burstH = await Promise.all(burstIds.map((id) => historyOf(client, id)));
    return {
      runs: N,
      stepsPerRun: STEPS,
      runMsWithoutQuota: plainRunMs,
      runMsWithQuota: quotaRunMs,
      runEventsWithoutQuota: median(plainH.map((h) => h.events)),
      runEventsWithQuota: median(quotaH.map((h) => h.events)),
      runEventsPerAcquire:
        (median(quotaH.map((h) => h.events)) - median(plainH.map((h) => h.events))) / STEPS,
      quotaWorkflowEventsPerAcquire: Math.round((quotaEvents / acquires) * 10) / 10,
      uncontendedAcquireMs: {
        median: median(quotaH.flatMap((h) => h.waits)),
        max: Math.max(...quotaH.flatMap((h) => h.waits)),
      },
      burst: {
        runs: N,
        concurrent: 2,
        wallMs: burstMs,
        longestWaitMs: Math.max(...burstH.flatMap((h) => h.waits)),
      },
    };
  });
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  await connection.close();
  await client.connection.close();
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
