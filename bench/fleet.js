// Fleet benchmarks (`node bench/run.js --only=fleet`, and on the PostgreSQL cluster `--only=cluster`):
// throughput of N concurrent 5-step runs served by 1, 2 and 4 worker processes on one shared task queue,
// each against raw Temporal (N workflows of 5 no-op activities) served by the same worker processes on the
// same server. Worker processes are real `node` processes (bench/fleet-worker.js), so they scale past one
// Node event loop; on one machine they share its cores with the server.

const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { spawn } = require('node:child_process');
const { chainPlan, workspace, startSop, throughputPair, row } = require('./support');

/** Starts `count` worker processes on `taskQueue`; resolves once every one polls. */
async function startWorkers(count, address, taskQueue, codePath) {
  const procs = [];
  try {
    for (let i = 0; i < count; i++) {
      const proc = spawn(
        process.execPath,
        [path.join(__dirname, 'fleet-worker.js'), address, taskQueue, codePath],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      procs.push(proc);
      await new Promise((resolve, reject) => {
        let out = '';
        proc.stdout.on('data', (chunk) => {
          out += chunk;
          if (out.includes('ready\n')) resolve();
        });
        proc.once('exit', (code) =>
          reject(new Error(`fleet worker ${i + 1} exited with ${code} before it was ready`)),
        );
      });
    }
  } catch (err) {
    await stopWorkers(procs);
    throw err;
  }
  return procs;
}

async function stopWorkers(procs) {
  await Promise.all(
    procs.map(
      (proc) =>
        new Promise((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          const kill = setTimeout(() => proc.kill('SIGKILL'), 30_000);
          proc.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          proc.kill('SIGTERM');
        }),
    ),
  );
}

/**
 * One row per worker count (SOP runs/s vs raw runs/s on the same workers), then how raw and SOP throughput
 * grow from 1 worker to the most. `label` names the server in the row.
 */
async function fleetRows({ client, address, codePath, label, counts, n, rounds, target }) {
  const rows = [];
  const perCount = [];
  for (const count of counts) {
    const taskQueue = `bench-fleet-${randomUUID()}`;
    const procs = await startWorkers(count, address, taskQueue, codePath);
    try {
      // warm-up runs pay for each worker's first workflow isolates
      const warmups = Array.from({ length: 4 * count }, () => workspace('warmup'));
      const handles = await Promise.all(
        warmups.map((run) => startSop(client, taskQueue, chainPlan('warmup', 2), run)),
      );
      await Promise.all(handles.map((h) => h.result()));
      const { sopRate, rawRate } = await throughputPair(client, taskQueue, 'fleet', n, rounds);
      perCount.push({ count, sopRate, rawRate });
      rows.push(
        row(
          `fleet (${label}): ${n} concurrent 5-step runs, ${count} worker process${count > 1 ? 'es' : ''}, ${rounds} rounds (runs/s)`,
          sopRate,
          rawRate,
          'runs/s',
          target,
        ),
      );
    } finally {
      await stopWorkers(procs);
    }
  }
  const first = perCount[0];
  const last = perCount[perCount.length - 1];
  if (first && last && last !== first) {
    for (const [side, key] of [
      ['SOP', 'sopRate'],
      ['raw Temporal', 'rawRate'],
    ]) {
      rows.push(
        row(
          `fleet (${label}): ${side} throughput, ${last.count} worker processes vs ${first.count}`,
          last[key],
          first[key],
          'runs/s',
          'higher until the server is the limit',
        ),
      );
    }
  }
  return rows;
}

module.exports = { fleetRows };
