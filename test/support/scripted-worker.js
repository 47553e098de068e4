// A worker in its own process (so a test can kill -9 it), running the built interpreter (dist/) with a
// scripted stand-in harness: each execution appends "<step>" to $LEDGER, takes $SLOW_MS when the step
// is $SLOW_STEP ($STEP_MS for the others), and returns the route named in $ROUTE (default "next"). With
// $SPANS, each execution also appends "start|end <pid> <ms>" there (how many ran at once, across workers).
// $PLANS (a JSON array of hand-built plans) are served by name before the catalog, with the run options
// in $RUN_OPTIONS (JSON), as test/support/plans.ts servePlans does for an in-process worker.

const fs = require('node:fs');
const { connectWorkerConnection } = require('../../dist/temporal/connect');
const { createSopWorker } = require('../../dist/worker/create-worker');
const { installRuntime } = require('../../dist/worker/runtime');

const runner = {
  async run(execution) {
    const step = execution.request.step;
    fs.appendFileSync(process.env.LEDGER, `${step}\n`);
    const span = (what) =>
      process.env.SPANS && fs.appendFileSync(process.env.SPANS, `${what} ${process.pid} ${Date.now()}\n`);
    span('start');
    if (step === process.env.SLOW_STEP) await new Promise((r) => setTimeout(r, Number(process.env.SLOW_MS)));
    else if (process.env.STEP_MS) await new Promise((r) => setTimeout(r, Number(process.env.STEP_MS)));
    span('end');
    return {
      outcome: { route: process.env.ROUTE || 'next', payload: { summary: step, details: '' } },
      usage: { inputTokens: 10, outputTokens: 1, costUsd: 0 },
    };
  },
};

async function main() {
  installRuntime('WARN');
  const { connection, target } = await connectWorkerConnection({ startDevServer: false });
  const worker = await createSopWorker({
    connection,
    target,
    taskQueue: process.env.TASK_QUEUE,
    activities: {
      runners: { codex: runner },
      plans: new Map(JSON.parse(process.env.PLANS || '[]').map((p) => [p.sop, p])),
      ...(process.env.RUN_OPTIONS ? { runOptions: JSON.parse(process.env.RUN_OPTIONS) } : {}),
    },
  });
  process.stdout.write('ready\n');
  await worker.run();
}
main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
