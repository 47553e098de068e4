// The capacity model's inputs (`node bench/run.js --only=capacity`): CPU time the Temporal server and the
// worker spend per run and per step, read from /proc before and after a batch of concurrent runs, for 5-step
// SOP runs and, as the baseline, raw workflows of 5 no-op activities on the same server and worker. The
// server is every process listening on its ports and their process trees: the dev server is one process; the
// PostgreSQL cluster is the Temporal server's process and PostgreSQL (the postmaster, its backends and
// background processes). The worker is this process, which also runs the client. From them: how many steps/s
// one server core serves, and how many worker cores keep it busy, i.e. the fleet size at which the server,
// not the workers, becomes the limit (bench/README.md, "Capacity model").

const fs = require('node:fs');
const { randomUUID } = require('node:crypto');
const { chainPlan, workspace, startSop, time, row } = require('./support');

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * Every process's parent and CPU-ms from /proc/<pid>/stat: `own` is utime + stime, `ended` is cutime +
 * cstime (its children that ended and that it waited for, as PostgreSQL's postmaster does for backends).
 */
function processTable() {
  const table = new Map();
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // the command name (field 2) may hold spaces: count fields after its closing parenthesis (field 3 on)
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (a, b) => ((Number(a) + Number(b)) * 1000) / TICKS_PER_SECOND;
    table.set(Number(pid), { ppid: Number(f[1]), own: ms(f[11], f[12]), ended: ms(f[13], f[14]) });
  }
  return table;
}

/**
 * CPU-ms of the process trees at `roots`: every live process in them with its ended children. A child that
 * runs across both readings, or starts and ends between them, is counted once (while it lives in its own
 * entry; once waited for, in its parent's `ended`).
 */
function treeCpuMs(roots) {
  const table = processTable();
  const children = new Map();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  let total = 0;
  const seen = new Set();
  const stack = [...roots];
  while (stack.length > 0) {
    const pid = stack.pop();
    const proc = table.get(pid);
    if (seen.has(pid) || !proc) continue;
    seen.add(pid);
    total += proc.own + proc.ended;
    stack.push(...(children.get(pid) ?? []));
  }
  if (!roots.some((pid) => table.has(pid)))
    throw new Error(`none of the server's processes (${roots.join(', ')}) runs any more`);
  return total;
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

/**
 * The server's parts by name (e.g. the Temporal server, PostgreSQL), each the process trees of the processes
 * listening on its ports.
 */
function serverParts(portsByPart) {
  return Object.entries(portsByPart).map(([name, ports]) => ({
    name,
    pids: [...new Set(ports.map(listenerPid))],
  }));
}

/** CPU-ms of each server part, of the worker (this process) and the wall ms of `batch`. */
async function cpuOf(parts, batch) {
  const server0 = parts.map((part) => treeCpuMs(part.pids));
  const worker0 = process.cpuUsage();
  const { ms } = await time(batch);
  const worker = process.cpuUsage(worker0);
  const byPart = parts.map((part, i) => treeCpuMs(part.pids) - server0[i]);
  return {
    server: byPart.reduce((a, b) => a + b, 0),
    byPart,
    worker: (worker.user + worker.system) / 1000,
    ms,
  };
}

/**
 * Rows: server and worker CPU-ms per run and per step of `n` concurrent 5-step SOP runs against raw
 * 5-activity workflows (per activity), on the workers of `taskQueue`; the steps/s one server core serves and
 * the worker cores one server core keeps busy. `server` maps each part of the server to its ports (a server
 * of several parts gets a row for each).
 */
async function capacityRows({ client, taskQueue }, { n, label, server, idleMs }) {
  const parts = serverParts(server);
  const steps = 5;
  // what the server spends with no run at all (timers, queue scans, the database's own work): part of
  // every figure below, over the batch's wall time
  const idle = await cpuOf(parts, () => new Promise((resolve) => setTimeout(resolve, idleMs)));
  const runs = Array.from({ length: n }, () => workspace('capacity'));
  const sop = await cpuOf(parts, async () => {
    const handles = await Promise.all(
      runs.map((run) => startSop(client, taskQueue, chainPlan('capacity', steps), run)),
    );
    await Promise.all(handles.map((h) => h.result()));
  });
  const raw = await cpuOf(parts, async () => {
    const handles = await Promise.all(
      Array.from({ length: n }, () =>
        client.workflow.start('rawSteps', { workflowId: `raw/${randomUUID()}`, taskQueue, args: [steps] }),
      ),
    );
    await Promise.all(handles.map((h) => h.result()));
  });
  const per = (x) => x / (n * steps);
  const what = `${n} concurrent ${steps}-step runs vs raw workflows of ${steps} no-op activities`;
  const counted = parts.length > 1 ? ` (${parts.map((p) => p.name).join(' + ')})` : '';
  const name = (text) => `capacity (${label}): ${text}`;
  return [
    row(
      name(`server CPU-ms per run${counted}, ${what}`),
      sop.server / n,
      raw.server / n,
      'CPU-ms',
      'reference',
    ),
    row(
      name('server CPU-ms per step (raw: per activity)'),
      per(sop.server),
      per(raw.server),
      'CPU-ms',
      'reference',
    ),
    ...(parts.length > 1
      ? parts.map((part, i) =>
          row(
            name(`of which ${part.name}, CPU-ms per step`),
            per(sop.byPart[i]),
            per(raw.byPart[i]),
            'CPU-ms',
            'reference',
          ),
        )
      : []),
    row(
      name("worker CPU-ms per step (raw: per activity; the bench's client included)"),
      per(sop.worker),
      per(raw.worker),
      'CPU-ms',
      'reference',
    ),
    row(
      name('steps/s one server core serves (1000 / server CPU-ms per step; raw: activities/s)'),
      1000 / per(sop.server),
      1000 / per(raw.server),
      'per s',
      'reference',
    ),
    row(
      name(
        'SOP runs, worker CPU-ms per step vs server CPU-ms per step = worker cores one server core keeps busy',
      ),
      per(sop.worker),
      per(sop.server),
      'CPU-ms',
      'reference (x server cores = the fleet size where the server is the limit)',
    ),
    row(
      name(
        'raw Temporal, worker CPU-ms per activity vs server CPU-ms per activity = worker cores one server core keeps busy',
      ),
      per(raw.worker),
      per(raw.server),
      'CPU-ms',
      'reference',
    ),
    row(
      name(
        `server CPU-ms per second with no run (over ${idleMs / 1000} s; in the figures above) vs per second of the SOP batch (${(sop.ms / 1000).toFixed(1)} s)`,
      ),
      (idle.server * 1000) / idle.ms,
      (sop.server * 1000) / sop.ms,
      'CPU-ms/s',
      'reference',
    ),
  ];
}

module.exports = { capacityRows, treeCpuMs };
