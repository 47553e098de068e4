#!/usr/bin/env node
// The console's runs page under load: N runs of one SOP in visibility (started on a task queue of their own
// that no worker polls, so they are listed, not executed; half of them terminated so both running and closed
// runs are in the list; all terminated at the end), then the runs page requested R times, unfiltered-by-status
// and filtered, through the console on a real Fastify server. Server time is Fastify's reply.elapsedTime. The
// baseline is one raw ListWorkflowExecutions page of the same size and query. Prints one JSON line; exits 1
// when the p95 is over the target (300 ms) or a page is not the first 50 of N.
//   node bench/console-runs.js [--runs=1000] [--requests=60] [--tiny]
const { randomUUID } = require('node:crypto');
const { connectClient } = require('../dist/temporal/connect');
const { SopClient } = require('../dist/client');
const { SopName, SopStatus, SopTaskId } = require('../dist/temporal/search-attributes');
const { buildIngress } = require('../dist/serve/ingress');
const { consolePlugin } = require('../dist/console/plugin');
const { runsQuery } = require('../dist/console/runs-query');

const tiny = process.argv.includes('--tiny');
const arg = (name, fallback) => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? Number(found.slice(name.length + 3)) : fallback;
};
const runs = arg('runs', tiny ? 20 : 1000);
const requests = arg('requests', tiny ? 6 : 60);
const TARGET_P95_MS = 300;

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const round = (ms) => Math.round(ms * 10) / 10;

async function startRuns(client, sop, taskQueue) {
  const ids = [];
  for (let i = 0; i < runs; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(runs, i + 50); j++) {
      const task = `bench-${String(j).padStart(5, '0')}`;
      ids.push(`${sop}/${task}`);
      batch.push(
        client.workflow.start(sop, {
          workflowId: `${sop}/${task}`,
          taskQueue,
          args: [],
          typedSearchAttributes: [
            { key: SopName, value: sop },
            { key: SopTaskId, value: task },
            { key: SopStatus, value: j % 4 === 0 ? 'waiting_input' : 'running' },
          ],
          memo: { workspace: '/nowhere' },
        }),
      );
    }
    await Promise.all(batch);
  }
  // half of them closed (terminated), so the list mixes running and closed runs
  for (let i = 0; i < ids.length; i += 2 * 25) {
    await Promise.all(
      ids
        .slice(i, i + 50)
        .filter((_, k) => k % 2 === 1)
        .map((id) => client.workflow.getHandle(id).terminate('bench: closed run')),
    );
  }
  return ids;
}

async function untilCounted(client, query, n) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { count } = await client.workflow.count(query);
    if (count >= n) return;
    if (Date.now() > deadline) throw new Error(`visibility shows ${count} of ${n} runs after 120 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main() {
  const { client, target } = await connectClient();
  const sop = `bench_console_${randomUUID().slice(0, 8)}`;
  const taskQueue = `bench-console-${randomUUID()}`;
  const ids = await startRuns(client, sop, taskQueue);
  try {
    await untilCounted(client, `SopName = "${sop}" AND ExecutionStatus = "Terminated"`, Math.floor(runs / 2));
    await untilCounted(client, `SopName = "${sop}"`, runs);
    const app = buildIngress({
      hooks: new Map(),
      start: async () => ({ started: false, workflowId: '', runId: '' }),
    });
    const serverMs = [];
    app.addHook('onResponse', async (req, reply) => {
      if (req.url.startsWith('/console/runs')) serverMs.push(reply.elapsedTime);
    });
    await app.register(consolePlugin, {
      prefix: '/console',
      sop: new SopClient(client, target),
      access: { open: { name: 'bench', role: 'viewer' } },
      projectDir: process.cwd(),
      hooks: [],
    });
    const urls = [
      `/console/runs?sop=${sop}`,
      `/console/runs?sop=${sop}&status=running`,
      `/console/runs?sop=${sop}&trigger=manual&q=bench-00`,
    ];
    for (const url of urls) await app.inject({ method: 'GET', url }); // warm-up
    serverMs.length = 0;
    for (let i = 0; i < requests; i++) {
      const res = await app.inject({ method: 'GET', url: urls[i % urls.length] });
      if (res.statusCode !== 200) throw new Error(`${urls[i % urls.length]} answered ${res.statusCode}`);
      if (i % urls.length === 0) {
        const rows = (res.body.match(/data-testid="run-row"/g) ?? []).length;
        if (rows !== Math.min(50, runs) || !res.body.includes(`${runs} runs`))
          throw new Error(`the first page has ${rows} rows (expected ${Math.min(50, runs)} of ${runs})`);
      }
    }
    const rawMs = [];
    for (let i = 0; i < requests; i++) {
      const started = performance.now();
      await client.workflowService.listWorkflowExecutions({
        namespace: target.namespace,
        query: runsQuery({ sop }, []),
        pageSize: 50,
      });
      rawMs.push(performance.now() - started);
    }
    await app.close();
    const p95 = percentile(serverMs, 95);
    const result = {
      bench: `console runs page: ${runs} runs, page of 50 with count (server time)`,
      requests,
      p50Ms: round(percentile(serverMs, 50)),
      p95Ms: round(p95),
      baselineRawListP95Ms: round(percentile(rawMs, 95)),
      ratio: round(p95 / percentile(rawMs, 95)),
      targetP95Ms: TARGET_P95_MS,
      ok: tiny || p95 <= TARGET_P95_MS,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!result.ok) process.exitCode = 1;
  } finally {
    for (let i = 0; i < ids.length; i += 50)
      await Promise.all(
        ids.slice(i, i + 50).map((id) =>
          client.workflow
            .getHandle(id)
            .terminate('bench done')
            .catch(() => undefined),
        ),
      );
    await client.connection.close();
  }
}

main().catch((err) => {
  process.stderr.write(`bench console-runs failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
