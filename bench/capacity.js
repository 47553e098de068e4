// The capacity model's inputs (`node bench/run.js --only=capacity`): CPU time the Temporal server and the
// worker spend per run and per step, read from /proc before and after a batch of concurrent runs (the
// server's process found by its listening port; the worker is this process, which also runs the client),
// for 5-step SOP runs and, as the baseline, raw workflows of 5 no-op activities on the same server and
// worker. From them: how many worker cores one server core keeps busy, i.e. the fleet size at which the
// server, not the workers, becomes the limit (bench/README.md, "Capacity model").

const fs = require('node:fs');
const { randomUUID } = require('node:crypto');
const { chainPlan, workspace, startSop, time, row } = require('./support');

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a process, in ms, from /proc/<pid>/stat. */
function cpuMsOf(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces: count fields after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** The process listening on TCP `port` (loopback), from /proc/net/tcp{,6} and the processes' sockets. */
function listenerPid(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === '0A') inodes.add(`socket:[${cols[9]}]`);
    }
  }
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let fds = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) return Number(pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  throw new Error(`no process listens on port ${port}: cannot read the Temporal server's CPU time`);
}

/** Server and worker CPU-ms and wall ms of `batch`. */
async function cpuOf(serverPid, batch) {
  const server0 = cpuMsOf(serverPid);
  const worker0 = process.cpuUsage();
  const { ms } = await time(batch);
  const worker = process.cpuUsage(worker0);
  return { server: cpuMsOf(serverPid) - server0, worker: (worker.user + worker.system) / 1000, ms };
}

/**
 * Rows: server and worker CPU-ms per step of `n` concurrent 5-step SOP runs against raw 5-activity
 * workflows (per activity), and the worker cores one server core serves.
 */
async function capacityRows({ client, taskQueue, address }, n, label) {
  const serverPid = listenerPid(Number(address.split(':').pop()));
  const steps = 5;
  const runs = Array.from({ length: n }, () => workspace('capacity'));
  const sop = await cpuOf(serverPid, async () => {
    const handles = await Promise.all(
      runs.map((run) => startSop(client, taskQueue, chainPlan('capacity', steps), run)),
    );
    await Promise.all(handles.map((h) => h.result()));
  });
  const raw = await cpuOf(serverPid, async () => {
    const handles = await Promise.all(
      Array.from({ length: n }, () =>
        client.workflow.start('rawSteps', { workflowId: `raw/${randomUUID()}`, taskQueue, args: [steps] }),
      ),
    );
    await Promise.all(handles.map((h) => h.result()));
  });
  const per = (x) => x / (n * steps);
  const what = `${n} concurrent ${steps}-step runs vs raw workflows of ${steps} no-op activities`;
  return [
    row(
      `capacity (${label}): server CPU-ms per run, ${what}`,
      sop.server / n,
      raw.server / n,
      'CPU-ms',
      'reference',
    ),
    row(
      `capacity (${label}): server CPU-ms per step (raw: per activity)`,
      per(sop.server),
      per(raw.server),
      'CPU-ms',
      'reference',
    ),
    row(
      `capacity (${label}): worker CPU-ms per step (raw: per activity; the bench's client included)`,
      per(sop.worker),
      per(raw.worker),
      'CPU-ms',
      'reference',
    ),
    row(
      `capacity (${label}): SOP runs, worker CPU-ms per step vs server CPU-ms per step = worker cores one server core serves`,
      per(sop.worker),
      per(sop.server),
      'CPU-ms',
      'reference (the fleet size where the server is the limit, per server core)',
    ),
    row(
      `capacity (${label}): raw Temporal, worker CPU-ms per activity vs server CPU-ms per activity = worker cores one server core serves`,
      per(raw.worker),
      per(raw.server),
      'CPU-ms',
      'reference',
    ),
  ];
}

module.exports = { capacityRows, cpuMsOf, listenerPid };
