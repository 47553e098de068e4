// The `live` rows: how soon what an agent does shows in `sop logs --follow`, and what it costs the history.
// A real Codex step (the product's worker settings, against the scripted model server) runs N shell commands
// with a pause between each; a real `sop logs --follow --json` process prints them. Each action's latency is
// the time its line reached this process minus the time the worker saw the harness report it (same clock);
// the baseline is the same figure for the history's events (the long poll) in the same run. The same run's
// page in the console (a real `sop serve`, Chromium through playwright-core: bench/console-live.js) gives the
// console row: the time each command action entered the page's DOM minus the same worker time; its baseline
// is the `sop logs -f` figure of the same actions.

const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { spawn } = require('node:child_process');
const { chromiumPath, openConsole } = require('./console-live');
const { row, workspace } = require('./support');

const bin = path.join(__dirname, '..', 'bin', 'sop.js');

/** A go-ahead (an input step), then one agent step whose scripted model runs `n` commands, `gapMs` apart. */
function livePlan(sop, prompt) {
  return {
    sop,
    bundleHash: 'bench-live',
    artifacts: [],
    worklists: [],
    budgets: {},
    steps: [
      {
        name: 'go',
        kind: 'input',
        after: [],
        input: { question: 'Go?', schema: { type: 'object' } },
        routes: [{ name: 'answered', target: { kind: 'step', step: 'work' }, requires: [] }],
        maxRework: 0,
        onReworkExhausted: { kind: 'fail' },
        maxAttempts: 1,
        onFailure: { kind: 'fail' },
        timeoutMs: 300_000,
      },
      {
        name: 'work',
        kind: 'agent',
        after: [],
        agent: {
          prompt,
          promptFile: 'p.md',
          writes: [],
          policy: { sandbox: 'workspace-write' },
          provider: 'codex',
        },
        routes: [{ name: 'done', target: { kind: 'finish' }, requires: [] }],
        maxRework: 0,
        onReworkExhausted: { kind: 'fail' },
        maxAttempts: 1,
        onFailure: { kind: 'fail' },
        timeoutMs: 300_000,
      },
    ],
  };
}

const p95 = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
};

/** `sop logs SOP/TASK --follow --json` until the run ends: every line with the time it arrived. */
function followLogs(ref, env) {
  const child = spawn(process.execPath, [bin, 'logs', ref, '--follow', '--json'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  let partial = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    const arrived = Date.now();
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) if (text.trim()) lines.push({ arrived, event: JSON.parse(text) });
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(lines) : reject(new Error(`sop logs exited ${code}: ${stderr}`)),
    );
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  return { lines, done, kill: () => child.kill(), exited: () => exited };
}

/**
 * The history events of a run but its workflow tasks': those come and go with the machine's load (a task
 * that timed out on a busy machine is scheduled again), not with what the agent does.
 */
async function historyEvents(client, workflowId) {
  const { workflowExecutions } = require('../dist/client/executions');
  const { temporal } = require('@temporalio/proto');
  const type = temporal.api.enums.v1.EventType;
  const workflowTask = new Set([
    type.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    type.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    type.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    type.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    type.EVENT_TYPE_WORKFLOW_TASK_FAILED,
  ]);
  let events = 0;
  for (const runId of await workflowExecutions(client, workflowId)) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    events += (history.events ?? []).filter((e) => !workflowTask.has(e.eventType)).length;
  }
  return events;
}

/**
 * Rows: action → visible in `sop logs -f` (p95, ms) vs a history event → visible; action → visible in the
 * console's run page vs in `sop logs -f`; the history events of a run whose step does `n` actions vs one
 * whose step takes as long and does none (heartbeats add no events).
 */
async function liveRows({ client, target, connection }, { n, gapMs }) {
  const { startModelServer } = require('../dist/scripted-model/model-server');
  const { CodexRunner } = require('../dist/harnesses/codex');
  const { createSopWorker } = require('../dist/worker/create-worker');
  const { SopClient } = require('../dist/client');
  chromiumPath(); // the console row needs it: say so before the runs, not after
  const busy = `Run the live bench commands ${randomUUID()}`;
  const idle = `Answer the live bench at once ${randomUUID()}`;
  const final = { final: { route: 'done', summary: 'ok', details: '' } };
  const replies = [];
  // the step ends gapMs after its last command: the actions of its last second reach a follower through the
  // step's result in history (`sop logs -f` at once, the run page once it reloads as the run ends), the
  // others through the heartbeats while it runs
  for (let i = 0; i < n; i++) replies.push({ shell: `echo live-${i}` }, { wait: { ms: gapMs } });
  const model = await startModelServer({
    rules: [
      { match: busy, runs: [[...replies, final]] },
      // as long as the busy step, without its commands: a step's own timers fire the same in both
      { match: idle, runs: [[{ wait: { ms: n * gapMs } }, final]] },
    ],
  });
  const taskQueue = `bench-live-${randomUUID()}`;
  const plans = new Map();
  const worker = await createSopWorker({
    connection,
    target,
    taskQueue,
    activities: { runners: { codex: new CodexRunner({ baseUrl: `${model.url}/v1` }) }, plans },
  });
  const sop = new SopClient(client, { ...target, taskQueue });
  const start = async (name, prompt) => {
    const plan = livePlan(name, prompt);
    plans.set(name, plan);
    const run = workspace(name);
    return sop.start(name, { task: run.taskId, input: {}, repo: { path: run.workspace } });
  };
  /** the go-ahead the run waits for before its agent step */
  const go = async (handle) => {
    const [name, task] = [
      handle.workflowId.slice(0, handle.workflowId.indexOf('/')),
      handle.workflowId.slice(handle.workflowId.indexOf('/') + 1),
    ];
    for (;;) {
      if ((await sop.status(name, task)).status === 'waiting_input') {
        // the same wait in both runs, longer than the run's 2-s delay before it shows its step: the two
        // histories differ only by what the agent does
        await new Promise((r) => setTimeout(r, 3_000));
        return sop.answer(name, task, {});
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    return await worker.runUntil(async () => {
      const quiet = await start(`live-idle-${randomUUID().slice(0, 6)}`, idle);
      await go(quiet);
      await quiet.result();
      const handle = await start(`live-busy-${randomUUID().slice(0, 6)}`, busy);
      const logs = followLogs(handle.workflowId, process.env);
      let followed = Number.POSITIVE_INFINITY;
      let page;
      try {
        // the agent starts once the follower reads and the run page is open (their start-up, a node
        // process, a browser and a connection, is not what the rows measure)
        page = await openConsole(handle.workflowId, process.env);
        while (!logs.lines.some((l) => /input requested/.test(l.event.kind ?? ''))) {
          if (logs.exited()) throw new Error('sop logs --follow ended before the run asked for its go-ahead');
          await new Promise((r) => setTimeout(r, 50));
        }
        followed = Date.now();
        await go(handle);
        await handle.result();
        await logs.done;
        // the page shows the step's last actions once it reloads (it looks every 2 s whether the run ended)
        await page.allSeen(2 * n, 15_000);
      } finally {
        logs.kill();
        await page?.close();
      }
      const actions = logs.lines.filter(
        (l) => l.event.kind === 'action' && l.event.action.kind === 'command',
      );
      const seen = new Set(actions.map((l) => l.event.action.command));
      if (seen.size < n)
        throw new Error(
          `sop logs --follow showed ${seen.size} of the ${n} commands:\n${logs.lines.map((l) => JSON.stringify(l.event)).join('\n')}`,
        );
      const actionMs = actions.map((l) => l.arrived - Date.parse(l.event.action.at));
      // history events written while the follower was already reading (not the ones it found at start)
      const eventMs = logs.lines
        .filter((l) => l.event.kind !== 'action' && l.event.timeMs > followed + 1000)
        .map((l) => l.arrived - l.event.timeMs);
      if (eventMs.length === 0) throw new Error('sop logs --follow showed no history event as it happened');
      const shown = page.seen();
      if (shown.length < 2 * n || shown.some((s) => !s.at))
        throw new Error(
          `the console's run page showed ${shown.length} of the ${2 * n} command actions (started and finished):\n${shown.map((s) => `${s.seq} ${s.at} ${s.text}`).join('\n')}`,
        );
      const consoleMs = shown.map((s) => s.seenAt - Date.parse(s.at));
      const busyEvents = await historyEvents(client, handle.workflowId);
      const idleEvents = await historyEvents(client, quiet.workflowId);
      return [
        row(
          `live: command → shown by sop logs -f, p95 of ${actionMs.length} (vs a history event, p95 of ${eventMs.length})`,
          p95(actionMs),
          p95(eventMs),
          'ms',
          'p95 <= 2000 ms absolute',
        ),
        row(
          `live: command → shown in the console's run page (Chromium), p95 of ${consoleMs.length} (${shown.filter((s) => s.ended).length} first under the ended step's line; vs sop logs -f, p95 of ${actionMs.length})`,
          p95(consoleMs),
          p95(actionMs),
          'ms',
          'p95 <= 2000 ms absolute',
        ),
        row(
          `live: history events (but workflow tasks), a step with ${n} commands vs one as long with none`,
          busyEvents,
          idleEvents,
          'events',
          '1.0 (heartbeats add no events)',
        ),
      ];
    });
  } finally {
    await model.close();
  }
}

module.exports = { liveRows };
