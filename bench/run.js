#!/usr/bin/env node
// Benchmarks (`npm run bench`): every figure is a ratio against a baseline measured in the same run on the
// same dev server, printed as a table and written as JSON to bench/results/. `--quick` runs smaller
// sizes, `--tiny` every row once at the smallest (a test runs it), `--rounds N` each row N times (median and
// spread); `--help` lists the options. Workspaces (a `git init` each) are made before a timer starts: they
// stand for the user's repositories.

// the options first: a bad one (or --help) answers before the runtime loads
const { parseOptions, USAGE, UsageError } = require('./options');
const options = parseOptionsOrExit();

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { Client, Connection } = require('@temporalio/client');
const { NativeConnection, Worker, bundleWorkflowCode } = require('@temporalio/worker');
const { connectClient, connectWorkerConnection } = require('../dist/temporal/connect');
const { createActivities } = require('../dist/activities');
const { installRuntime } = require('../dist/worker/runtime');
const { prebuiltBundlePath } = require('../dist/worker/workflow-bundle');
const { auditRows } = require('./audit');
const { capacityRows } = require('./capacity');
const { clusterSession } = require('./cluster');
const { fleetRows } = require('./fleet');
const { liveRows } = require('./live');
const support = require('./support');
const { instant, workspace, chainPlan, worklistPlan, worklistWorkspace, throughputPair, time, row, quiet } =
  support;
const { combineRounds, median, printTable, rowsWithoutFigures } = require('./table');

const { quick, tiny, rounds } = options;
const mode = tiny ? 'tiny' : quick ? 'quick' : 'full';
/** A size by mode: the full run, `--quick`, and `--tiny` (every row once, as small as it can be). */
const size = (full, small, smallest) => (tiny ? smallest : quick ? small : full);
const want = (name) =>
  (!options.only || options.only.includes(name)) && (name !== 'cluster' || options.cluster);
const cluster = clusterSession();
if (tiny) support.settings.slowStepMs = 200;

/** Benchmarks that need no Temporal server: `--only` with just these starts none. */
const OFFLINE = ['launch', 'provision', 'audit'];

const rows = [];
const failed = [];

/** Under `--tiny` a benchmark not done in this long fails (a workflow that cannot run retries forever). */
const TINY_LIMIT_MS = 120_000;

/**
 * Runs benchmark `name` (when wanted) `rounds` times and keeps its rows, combined into median and spread. A
 * benchmark that throws is reported and named at the end (the run fails); the others still run.
 */
async function measure(name, fn) {
  if (!want(name)) return;
  const perRound = [];
  try {
    for (let r = 0; r < rounds; r++) perRound.push(await bounded(name, fn()));
    rows.push(...combineRounds(perRound).map((r) => ({ bench: name, ...r })));
  } catch (err) {
    process.stderr.write(`bench ${name} failed: ${err.stack ?? err}\n`);
    failed.push(name);
  }
}

/** `promise`; under `--tiny`, an error naming `what` once it has taken TINY_LIMIT_MS. */
async function bounded(what, promise) {
  if (!tiny) return promise;
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not finished after ${TINY_LIMIT_MS / 1000} s (--tiny)`)),
      TINY_LIMIT_MS,
    );
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

async function offlineRows() {
  await measure('launch', () => harnessLaunch(size(5, 2, 1)));
  await measure('provision', () => provisioning(size(3, 1, 1), size(10_000, 2_000, 20)));
  await measure('audit', async () =>
    auditRows(size([10_000, 100_000, 300_000], [2_000, 10_000], [20]), size(3, 3, 1), row),
  );
}

async function main() {
  if (options.only?.every((name) => OFFLINE.includes(name))) {
    await offlineRows();
    return finish('not used');
  }
  installRuntime('ERROR');
  const { client, target } = await connectClient({ log: () => {} });
  const { connection } = await connectWorkerConnection({ target, startDevServer: false });
  const taskQueue = `bench-${randomUUID()}`;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: quiet,
  });
  const { worker, activities } = await benchWorker(connection, taskQueue, workflowBundle);
  const on = { client, target, connection, taskQueue, activities, address: target.address };

  await worker.runUntil(async () => {
    // warm-up: the first workflow pays for isolate creation
    const warmup = await startSop(on, chainPlan('warmup', 2), workspace('warmup'));
    await bounded('the warm-up run', warmup.result());
    await measure('overhead', () => overhead(on));
    await measure('throughput', () => throughput(on));
    await measure('history', () => history(on));
    // --quick leaves the parallel worklist out (about a minute) unless --only names it
    if (!quick || options.only?.includes('parallel')) await measure('parallel', () => parallel(on));
    const devServer = { 'dev server': [Number(target.address.split(':').pop())] };
    await measure('capacity', () =>
      capacityRows(on, { ...capacitySize(), label: 'dev server', server: devServer }),
    );
  });
  await measure('startup', () => startup(on));
  await measure('live', () => liveRows(on, { n: size(30, 10, 3), gapMs: size(700, 700, 300) }));
  // the worker processes of the fleet rows load the bundle from a file, written once
  const codePath = want('fleet') || want('cluster') ? bundleFile(workflowBundle) : undefined;
  await measure('fleet', () =>
    fleetRows({
      client,
      address: target.address,
      codePath,
      label: 'dev server',
      ...fleetSizes(),
      target: 'reference (target on the cluster)',
    }),
  );
  await connection.close();
  await client.connection.close();
  try {
    await measure('cluster', () => clusterRows(workflowBundle, codePath));
    if (options.cluster)
      await measure('capacity', () =>
        onCluster(workflowBundle, async (on) => {
          // warm-up: this worker's first workflow pays for isolate creation
          await (await startSop(on, chainPlan('warmup', 2), workspace('warmup'))).result();
          return capacityRows(on, { ...capacitySize(), label: 'PostgreSQL cluster', server: cluster.server });
        }),
      );
  } finally {
    cluster.stop();
  }
  if (codePath) fs.rmSync(path.dirname(codePath), { recursive: true, force: true });
  await offlineRows();
  const clusterUsed = want('cluster') || (want('capacity') && options.cluster);
  finish(clusterUsed ? `${target.address} (the cluster rows: ${cluster.address})` : target.address);
}

/** Prints the table; a benchmark that failed or a row without a figure fails the run, naming them. */
function finish(address) {
  printTable(rows, { address, mode, rounds });
  const problems = [
    ...failed.map((name) => `benchmark ${name} failed (see above)`),
    ...rowsWithoutFigures(rows).map((name) => `no figure: ${name}`),
  ];
  if (problems.length > 0) {
    process.stderr.write(`bench failed:\n  ${problems.join('\n  ')}\n`);
    process.exitCode = 1;
  }
}

const startSop = (on, plan, run) => support.startSop(on.client, on.taskQueue, plan, run);
const capacitySize = () => ({ n: size(200, 40, 2), idleMs: size(5000, 5000, 1000) });
const fleetSizes = () => ({
  counts: size([1, 2, 4], [1, 2], [1, 2]),
  n: size(200, 40, 2),
  rounds: size(2, 1, 1),
});

// 1. overhead: N agent steps through the interpreter vs N no-op activities
async function overhead(on) {
  const reps = size(5, 2, 1);
  const steps = size(20, 20, 3);
  let sopMs = 0;
  let rawMs = 0;
  for (let i = 0; i < reps; i++) {
    const run = workspace('overhead');
    sopMs += (await time(async () => (await startSop(on, chainPlan('overhead', steps), run)).result())).ms;
    rawMs += (
      await time(() =>
        on.client.workflow.execute('rawSteps', {
          workflowId: `raw/${randomUUID()}`,
          taskQueue: on.taskQueue,
          args: [steps],
        }),
      )
    ).ms;
  }
  return [
    row(
      `overhead: ${steps}-step SOP vs ${steps} raw activities`,
      sopMs / reps,
      rawMs / reps,
      'ms',
      '<= 1.15',
    ),
  ];
}

// 2. throughput: N concurrent 5-step runs vs N raw 5-activity workflows
async function throughput(on) {
  const n = size(200, 40, 2);
  // The dev server's speed drifts as its database grows: rounds alternate which side goes first and the
  // figure is the total over all rounds.
  const rounds = size(3, 1, 1);
  const { sopRate, rawRate } = await throughputPair(on.client, on.taskQueue, 'throughput', n, rounds);
  return [
    row(
      `throughput: ${n} concurrent 5-step runs, ${rounds} rounds (runs/s)`,
      sopRate,
      rawRate,
      'runs/s',
      '>= 0.8',
    ),
  ];
}

// 3. history economy: events per agent step, and the largest single history of a long worklist
async function history(on) {
  const steps = size(20, 20, 3);
  const chain = await startSop(on, chainPlan('economy', steps), workspace('economy'));
  await chain.result();
  const events = (await chain.fetchHistory()).events.length;
  const rawHandle = await on.client.workflow.start('rawSteps', {
    workflowId: `raw/${randomUUID()}`,
    taskQueue: on.taskQueue,
    args: [steps],
  });
  await rawHandle.result();
  const rawEvents = (await rawHandle.fetchHistory()).events.length;
  return [
    row(
      `history: events per agent step (${steps}-step SOP)`,
      events / steps,
      rawEvents / steps,
      'events',
      '<= 12 absolute',
    ),
    ...(await worklistRows(on.client, on.taskQueue, size(5000, 500, 3), 'dev server')),
  ];
}

// 5. parallel worklist: items of 5 s (--tiny: 0.2 s) at concurrency 4 (--tiny: 2) vs 1; and what one item's
// worktree costs (open + merge of one changed file, the activities called directly on the same workspace)
async function parallel(on) {
  const items = size(8, 8, 2);
  const concurrency = size(4, 4, 2);
  const par = [];
  for (const c of [concurrency, 1]) {
    const run = worklistWorkspace('parallel', items);
    par.push(
      (await time(async () => (await startSop(on, worklistPlan('parallel', 'slow', c), run)).result())).ms,
    );
  }
  const seconds = support.settings.slowStepMs / 1000;
  const { item, spawn } = await worktreeCost(items);
  return [
    row(
      `parallel worklist: ${items} items x ${seconds} s, concurrency ${concurrency} vs 1 (wall)`,
      par[0],
      par[1],
      'ms',
      '<= 0.3',
    ),
    row(
      `parallel worklist: one item's worktree (open + merge, median of ${items}) vs one \`git --version\` spawn`,
      item,
      spawn,
      'ms',
      '<= 150 ms absolute',
    ),
  ];
}

async function worktreeCost(items) {
  const { openWorktree, mergeWorktree } = require('../dist/activities/worktrees').worktreeActivities;
  const ws = worklistWorkspace('worktree-cost', items);
  const run = { sop: ws.sop, taskId: ws.taskId, workspace: ws.workspace, runFolder: ws.runFolder };
  const costs = [];
  const spawns = [];
  let head;
  for (let i = 0; i < items; i++) {
    spawns.push((await time(async () => execFileSync('git', ['--version'], { stdio: 'ignore' }))).ms);
    const t0 = performance.now();
    // the first item snapshots the workspace; the next ones branch from the run's head, as in a run
    const opened = await openWorktree({ run, key: `item-${i}`, head, snapshot: head === undefined });
    const t1 = performance.now();
    fs.writeFileSync(path.join(opened.worktree.path, `out-${i}.txt`), `item ${i}\n`);
    const t2 = performance.now();
    const merged = await mergeWorktree({ run, worktree: opened.worktree, head: opened.head });
    if (!merged.merged || !fs.existsSync(path.join(ws.workspace, `out-${i}.txt`)))
      throw new Error(`item ${i} was not merged into the workspace`);
    head = merged.head;
    costs.push(t1 - t0 + (performance.now() - t2));
  }
  return { item: median(costs), spawn: median(spawns) };
}

// 4. start-up: a worker from the pre-built bundle vs one that bundles at start
async function startup({ client, target, connection, activities }) {
  const prebuilt = await time(() =>
    Worker.create({
      connection,
      taskQueue: `startup-${randomUUID()}`,
      workflowBundle: { codePath: prebuiltBundlePath },
      activities,
    }),
  );
  const bundling = await time(() =>
    Worker.create({
      connection,
      taskQueue: `startup-${randomUUID()}`,
      workflowsPath: require.resolve('../dist/workflows'),
      activities,
      bundlerOptions: { logger: quiet },
    }),
  );
  // a worker holds the connection until it has run and shut down
  for (const w of [prebuilt.value, bundling.value]) await w.runUntil(Promise.resolve());
  const { SopClient } = require('../dist/client');
  const sopClient = new SopClient(client, target);
  const listing = await time(async () => {
    let count = 0;
    for await (const _ of sopClient.list({ sop: 'overhead' })) count++;
    return count;
  });
  const rawList = await time(async () => {
    let count = 0;
    for await (const _ of client.workflow.list({ query: 'WorkflowType = "rawSteps"' })) count++;
    return count;
  });
  return [
    row(
      'start-up: worker ready, pre-built bundle vs bundling at start',
      prebuilt.ms,
      bundling.ms,
      'ms',
      'lower is better',
    ),
    row(
      `runs list: SopClient.list (${listing.value} runs) vs raw list (${rawList.value})`,
      listing.ms,
      rawList.ms,
      'ms',
      'lower is better',
    ),
  ];
}

/**
 * The largest single history of a long worklist (continue-as-new keeps each run's history bounded), with
 * the time the whole worklist took, on the workers of `taskQueue`; and its items/s against a raw Temporal
 * worklist's activities/s (one no-op activity per item, continue-as-new every 500) on the same workers.
 */
async function worklistRows(client, taskQueue, items, label) {
  const run = worklistWorkspace('worklist', items);
  const wl = await time(async () =>
    (await support.startSop(client, taskQueue, worklistPlan('worklist', 'item', 1), run)).result(),
  );
  let largest = 0;
  let runs = 0;
  for await (const wf of client.workflow.list({ query: `WorkflowId = "worklist/${run.taskId}"` })) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    largest = Math.max(largest, history.events.length);
    runs++;
  }
  const raw = await time(() =>
    client.workflow.execute('rawWorklist', {
      workflowId: `raw-worklist/${randomUUID()}`,
      taskQueue,
      args: [items],
    }),
  );
  return [
    row(
      `history (${label}): largest single history, ${items}-item worklist (${runs} run${runs === 1 ? '' : 's'} via continue-as-new, ${(wl.ms / 1000).toFixed(1)} s)`,
      largest,
      10_240,
      'events',
      '< 1.0',
    ),
    row(
      `worklist (${label}): ${items}-item worklist, items/s vs raw Temporal activities/s (1 no-op activity per item, continue-as-new every 500; ${(raw.ms / 1000).toFixed(1)} s)`,
      (items * 1000) / wl.ms,
      (items * 1000) / raw.ms,
      'per s',
      '>= 0.5',
    ),
  ];
}

/** The bench workflow bundle as a file, for worker processes. */
function bundleFile(workflowBundle) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-bench-bundle-')), 'workflows.js');
  fs.writeFileSync(file, workflowBundle.code);
  return file;
}

/** A worker of the bench bundle on `taskQueue`: the instant agent and the raw baselines' no-op activity. */
async function benchWorker(connection, taskQueue, workflowBundle) {
  const activities = {
    ...createActivities({ runners: { codex: instant }, plans: support.benchPlans }),
    noop: async () => undefined,
  };
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle,
    activities,
    maxConcurrentActivityTaskExecutions: 200,
  });
  return { worker, activities };
}

/**
 * `fn({ client, address, taskQueue })` on the PostgreSQL-backed cluster (started on first use, see
 * bench/cluster.js); with `workflowBundle`, a worker of it in this process polls `taskQueue` meanwhile.
 */
async function onCluster(workflowBundle, fn) {
  const address = cluster.start();
  const client = new Client({ connection: await Connection.connect({ address }) });
  const connection = await NativeConnection.connect({ address });
  try {
    const taskQueue = `bench-${randomUUID()}`;
    if (!workflowBundle) return await fn({ client, address, taskQueue });
    const { worker } = await benchWorker(connection, taskQueue, workflowBundle);
    return await worker.runUntil(fn({ client, address, taskQueue }));
  } finally {
    await connection.close();
    await client.connection.close();
  }
}

/**
 * The same fleet rows (worker processes loading `codePath`), and the 5,000-item worklist, on the
 * PostgreSQL-backed cluster of temporal/cluster/. A cluster that cannot start fails the benchmark, saying why.
 */
async function clusterRows(workflowBundle, codePath) {
  // the worker processes alone first: this process's worker polls only for the worklist
  const fleet = await onCluster(undefined, ({ client, address }) =>
    fleetRows({ client, address, codePath, label: 'PostgreSQL cluster', ...fleetSizes(), target: '>= 0.8' }),
  );
  const worklist = await onCluster(workflowBundle, ({ client, taskQueue }) =>
    worklistRows(client, taskQueue, size(5000, 500, 3), 'PostgreSQL cluster'),
  );
  return [...fleet, ...worklist];
}

/**
 * Per-step launch overhead of the real harnesses (through the adapters, against the scripted model
 * server): time from the start of an execution to the harness's first event, and to its outcome.
 * Baseline: spawning a bare `node -e 0` process the same way.
 */
async function harnessLaunch(reps) {
  const { startModelServer } = require('../dist/scripted-model/model-server');
  const { CodexRunner } = require('../dist/harnesses/codex');
  const { ClaudeRunner } = require('../dist/harnesses/claude');
  const { runHarnessProcess } = require('../dist/harnesses/common');
  const { outcomeSchema } = require('../dist/activities/prompt');
  const model = await startModelServer({
    rules: [{ match: 'bench launch', runs: [[{ final: { route: 'done', summary: 's', details: '' } }]] }],
  });
  const rows = [];
  try {
    let spawnMs = 0;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await runHarnessProcess(process.execPath, ['-e', '0'], {
        cwd: os.tmpdir(),
        env: { PATH: process.env.PATH },
        input: '',
        signal: new AbortController().signal,
        onLine: () => {},
      });
      spawnMs += performance.now() - t0;
    }
    spawnMs /= reps;
    const runners = {
      codex: new CodexRunner({ baseUrl: `${model.url}/v1` }),
      claude: new ClaudeRunner({ baseUrl: model.url }),
    };
    for (const [name, runner] of Object.entries(runners)) {
      let firstEvent = 0;
      let total = 0;
      for (let i = 0; i < reps; i++) {
        const dir = workspace('bench');
        const executionDir = path.join(dir.runFolder, 'steps', `x${i}`);
        fs.mkdirSync(executionDir, { recursive: true });
        const t0 = performance.now();
        let first;
        const result = await runner.run({
          request: {},
          spec: {
            prompt: 'bench launch',
            promptFile: 'p.md',
            writes: [],
            policy: { sandbox: 'read-only' },
            provider: name,
          },
          prompt: 'bench launch',
          outcomeSchema: outcomeSchema(['done']),
          workspace: dir.workspace,
          executionDir,
          transcriptPath: path.join(executionDir, 'transcript.jsonl'),
          signal: new AbortController().signal,
          heartbeat: () => {
            first ??= performance.now() - t0;
          },
        });
        // a harness that did not answer is a broken row, not a fast one
        if (result.outcome?.route !== 'done')
          throw new Error(
            `${name} ended without its outcome: ${result.outcomeError ?? JSON.stringify(result)}`,
          );
        if (first === undefined) throw new Error(`${name} sent no event before it ended`);
        firstEvent += first;
        total += performance.now() - t0;
      }
      rows.push(
        row(
          `harness launch: ${name} start to first event`,
          firstEvent / reps,
          spawnMs,
          'ms',
          'lower is better',
        ),
      );
      rows.push(
        row(`harness launch: ${name} one-turn execution`, total / reps, spawnMs, 'ms', 'lower is better'),
      );
    }
  } finally {
    await model.close();
  }
  return rows;
}

/**
 * repo.url provisioning on a worker (mirror fetch + worktree on the run branch) of a repository of `files`
 * files, against a plain `git clone` of the same remote measured in the same run: first on a worker that
 * never fetched it, then on one whose mirror has it already (every later run of that repository), with the
 * spare checkout the worker made after the previous run (the default) and, as a reference, without one
 * (SOP_SPARE_WORKTREES=0).
 */
async function provisioning(reps, files) {
  const { createWorkspaceActivities, sparesSettled } = require('../dist/activities/workspaces');
  const { stateDir } = require('../dist/harnesses/state-dir');
  const git = (cwd, ...args) => execFileSync('git', args, { cwd, stdio: 'ignore' });
  const seed = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-bench-seed-'));
  for (let i = 0; i < files; i++) {
    const dir = path.join(seed, `d${Math.floor(i / 100)}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.txt`), `file ${i}\n`);
  }
  git(seed, 'init', '-q');
  git(seed, 'add', '-A');
  git(seed, '-c', 'user.name=b', '-c', 'user.email=b@example.invalid', 'commit', '-qm', 'seed');
  const remote = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-bench-remote-'));
  git(os.tmpdir(), 'clone', '-q', '--bare', seed, remote);
  // outside /tmp, as a worker's work root must be
  const scratch = fs.mkdtempSync(path.join(stateDir(), 'bench-provision-'));
  const spareSetting = process.env.SOP_SPARE_WORKTREES;
  const timedProvision = async (provisionWorkspace, taskId) => {
    // the worker is idle between runs: the spare checkout of the previous run is made by then
    await sparesSettled();
    const t0 = performance.now();
    const { placement } = await provisionWorkspace({ sop: 'bench', taskId, url: remote });
    const ms = performance.now() - t0;
    if (!fs.existsSync(path.join(placement.workspace, 'd0', 'f0.txt')))
      throw new Error(`provisioning ${taskId} left no checkout in ${placement.workspace}`);
    return ms;
  };
  try {
    const clone = [];
    const first = [];
    const again = [];
    const noSpare = [];
    for (let i = 0; i < reps; i++) {
      let t0 = performance.now();
      git(scratch, 'clone', '-q', remote, path.join(scratch, `clone-${i}`));
      clone.push(performance.now() - t0);
      const { provisionWorkspace } = createWorkspaceActivities({
        workerQueue: 'bench',
        workRoot: path.join(scratch, `root-${i}`),
      });
      process.env.SOP_SPARE_WORKTREES = '1';
      first.push(await timedProvision(provisionWorkspace, 'first'));
      again.push(await timedProvision(provisionWorkspace, 'again'));
      process.env.SOP_SPARE_WORKTREES = '0';
      noSpare.push(await timedProvision(provisionWorkspace, 'no-spare'));
      process.env.SOP_SPARE_WORKTREES = '1';
      t0 = performance.now();
      git(scratch, 'clone', '-q', remote, path.join(scratch, `clone-${i}-b`));
      clone.push(performance.now() - t0);
    }
    const cloneMs = median(clone);
    return [
      row(
        `provision: repo.url workspace, ${files} files, new worker vs git clone`,
        median(first),
        cloneMs,
        'ms',
        'lower is better',
      ),
      row(
        `provision: repo.url workspace, ${files} files, mirror fetched before (spare checkout ready) vs git clone`,
        median(again),
        cloneMs,
        'ms',
        '<= 0.5',
      ),
      row(
        `provision: repo.url workspace, ${files} files, mirror fetched before, no spare (SOP_SPARE_WORKTREES=0) vs git clone`,
        median(noSpare),
        cloneMs,
        'ms',
        'reference',
      ),
    ];
  } finally {
    if (spareSetting === undefined) delete process.env.SOP_SPARE_WORKTREES;
    else process.env.SOP_SPARE_WORKTREES = spareSetting;
    await require('../dist/activities/workspaces').sparesSettled();
    for (const dir of [seed, remote, scratch]) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function parseOptionsOrExit() {
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed.help) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    return parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

main().then(
  // a benchmark that failed may leave work behind (a workflow task retrying): nothing is waited for
  () => process.exit(),
  (err) => {
    process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
    process.exit(1);
  },
);
