#!/usr/bin/env node
// One worker process of the fleet benchmark (bench/fleet.js starts 1, 2 or 4 of them):
//   node bench/fleet-worker.js <address> <task queue> <workflow bundle file>
// It serves the product's interpreter (agent steps answered by the instant runner) and the raw baseline's
// no-op activity on a shared task queue, prints "ready" once polling, and stops on SIGTERM.

const { Worker, NativeConnection } = require('@temporalio/worker');
const { createActivities } = require('../dist/activities');
const { installRuntime } = require('../dist/worker/runtime');
const { benchPlans, instant } = require('./support');

async function main() {
  const [address, taskQueue, codePath] = process.argv.slice(2);
  if (!address || !taskQueue || !codePath) {
    throw new Error('usage: node bench/fleet-worker.js <address> <task queue> <workflow bundle file>');
  }
  installRuntime('ERROR');
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { codePath },
    activities: {
      ...createActivities({ runners: { codex: instant }, plans: benchPlans }),
      noop: async () => undefined,
    },
    maxConcurrentActivityTaskExecutions: 200,
  });
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`fleet worker failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
