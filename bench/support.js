// What the benchmark files share: the instant agent runner, throw-away workspaces, the bench plans (served
// by the bench workers' resolve activity), starting a run by run request as every run starts, timing, and
// the result row.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { SopName, SopStatus, SopTaskId } = require('../dist/temporal/search-attributes');
const { round } = require('./table');

/** How long a step named slow* takes (`--tiny` shortens it). */
const settings = { slowStepMs: 5_000 };

/**
 * An agent that answers at once (steps named slow* take settings.slowStepMs): the runtime's cost without a
 * model's.
 */
const instant = {
  async run(execution) {
    const route = execution.request.routes[0]?.name ?? 'done';
    if (execution.request.step.startsWith('slow'))
      await new Promise((r) => setTimeout(r, settings.slowStepMs));
    return {
      outcome: { route, payload: { summary: '', details: '' } },
      usage: { inputTokens: 1, outputTokens: 1, costUsd: 0 },
    };
  },
};

/** A fresh `git init` workspace: it stands for the user's repository and is made before any timer starts. */
function workspace(sop) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-bench-')));
  execFileSync('git', ['init', '-q'], { cwd: dir });
  return {
    sop,
    taskId: randomUUID(),
    workspace: dir,
    runFolder: path.join(dir, '.sop', 'runs', sop, 'bench'),
  };
}

const step = (name, target, extra = {}) => ({
  name,
  kind: 'agent',
  after: [],
  agent: { prompt: `Do ${name}.`, promptFile: 'p.md', writes: [], policy: {}, provider: 'codex' },
  routes: [{ name: 'next', target, requires: [] }],
  maxRework: 0,
  onReworkExhausted: { kind: 'fail' },
  maxAttempts: 1,
  onFailure: { kind: 'fail' },
  timeoutMs: 60_000,
  ...extra,
});

/** n agent steps in a chain. */
function chainPlan(sop, n) {
  const steps = Array.from({ length: n }, (_, i) =>
    step(`s${i + 1}`, i + 1 < n ? { kind: 'step', step: `s${i + 2}` } : { kind: 'finish' }),
  );
  return { sop, bundleHash: 'bench', steps, artifacts: [], worklists: [], budgets: {} };
}

/** One step over the items of work.json. */
function worklistPlan(sop, stepName, concurrency) {
  return {
    sop,
    bundleHash: 'bench',
    steps: [
      step(
        stepName,
        { kind: 'advance', exhausted: { kind: 'finish' } },
        { forEach: { worklist: 'items', concurrency } },
      ),
    ],
    artifacts: [{ name: 'work', kind: 'json', path: 'work.json', required: true }],
    worklists: [
      { name: 'items', from: 'work', collection: 'items', id: 'id', title: 'id', status: 'status' },
    ],
    budgets: {},
  };
}

/** A workspace whose work.json lists `items` pending items. */
function worklistWorkspace(sop, items) {
  const run = workspace(sop);
  fs.writeFileSync(
    path.join(run.workspace, 'work.json'),
    JSON.stringify({ items: Array.from({ length: items }, (_, i) => ({ id: `i${i}`, status: 'pending' })) }),
  );
  return run;
}

/**
 * The bench plans by SOP name: the bench workers' resolve activity serves them (`createActivities({ plans
 * })`). A worker in another process (bench/fleet-worker.js) has the ones made here; `startSop` adds the rest
 * in this process.
 */
const benchPlans = new Map([
  ['warmup', chainPlan('warmup', 2)],
  ['fleet', chainPlan('fleet', 5)],
]);

/** Starts a run of a bench plan by run request, as every run starts: a bench worker resolves it. */
function startSop(client, taskQueue, plan, run) {
  benchPlans.set(plan.sop, plan);
  return client.workflow.start(plan.sop, {
    workflowId: `${plan.sop}/${run.taskId}`,
    taskQueue,
    args: [{ sop: plan.sop, task: run.taskId, repo: { path: run.workspace }, input: {} }],
    typedSearchAttributes: [
      { key: SopName, value: plan.sop },
      { key: SopTaskId, value: run.taskId },
      { key: SopStatus, value: 'running' },
    ],
  });
}

/**
 * Throughput of `n` concurrent 5-step SOP runs vs `n` raw workflows of 5 no-op activities, on the workers
 * of `taskQueue`. The dev server's speed drifts as its database grows: rounds alternate which side goes
 * first, and each rate is over all rounds.
 */
async function throughputPair(client, taskQueue, sopName, n, rounds) {
  const sop = async () => {
    const runs = Array.from({ length: n }, () => workspace(sopName));
    return (
      await time(async () => {
        const handles = await Promise.all(
          runs.map((run) => startSop(client, taskQueue, chainPlan(sopName, 5), run)),
        );
        await Promise.all(handles.map((h) => h.result()));
      })
    ).ms;
  };
  const raw = async () =>
    (
      await time(async () => {
        const handles = await Promise.all(
          Array.from({ length: n }, () =>
            client.workflow.start('rawSteps', { workflowId: `raw/${randomUUID()}`, taskQueue, args: [5] }),
          ),
        );
        await Promise.all(handles.map((h) => h.result()));
      })
    ).ms;
  let sopMs = 0;
  let rawMs = 0;
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      sopMs += await sop();
      rawMs += await raw();
    } else {
      rawMs += await raw();
      sopMs += await sop();
    }
  }
  return { sopRate: (rounds * n * 1000) / sopMs, rawRate: (rounds * n * 1000) / rawMs };
}

async function time(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

function row(name, value, baseline, unit, target) {
  return {
    name,
    value: round(value),
    baseline: round(baseline),
    ratio: round(value / baseline, 3),
    unit,
    target,
  };
}

const quiet = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error: (m) => process.stderr.write(`${m}\n`),
};

module.exports = {
  settings,
  instant,
  workspace,
  chainPlan,
  worklistPlan,
  worklistWorkspace,
  benchPlans,
  startSop,
  throughputPair,
  time,
  row,
  quiet,
};
