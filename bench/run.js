#!/usr/bin/env node
// Benchmarks (`npm run bench`): every figure is a ratio against a baseline measured in the same run on the
// same dev server, printed as a table and written as JSON to bench/results/. `--quick` runs smaller sizes.
// Workspaces (a `git init` each) are made before a timer starts: they stand for the user's repositories.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { spawnSync } = require('node:child_process');
const { Client, Connection } = require('@temporalio/client');
const { NativeConnection, Worker, bundleWorkflowCode } = require('@temporalio/worker');
const { connectClient, connectWorkerConnection } = require('../dist/temporal/connect');
const { createActivities } = require('../dist/activities');
const { installRuntime } = require('../dist/worker/runtime');
const { prebuiltBundlePath } = require('../dist/worker/workflow-bundle');
const { auditRows } = require('./audit');
const { fleetRows } = require('./fleet');
const support = require('./support');
const { instant, workspace, chainPlan, worklistPlan, worklistWorkspace, throughputPair, time, row, quiet } =
  support;

const quick = process.argv.includes('--quick');
// `--only=throughput,overhead` runs some of the benchmarks (names: overhead, throughput, history, parallel,
// startup, fleet, cluster, launch, provision, audit); `--no-cluster` leaves out the PostgreSQL cluster's rows
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const want = (name) => !only || only.includes(name);
const wantCluster = want('cluster') && !process.argv.includes('--no-cluster');
const size = (full, small) => (quick ? small : full);
const clusterAddress = `127.0.0.1:${process.env.SOP_CLUSTER_PORT || '17233'}`;

/** Benchmarks that need no Temporal server: `--only` with just these starts none. */
const OFFLINE = ['launch', 'provision', 'audit'];

async function offlineRows() {
  const rows = [];
  if (want('launch')) rows.push(...(await harnessLaunch(quick ? 2 : 5)));
  if (want('provision')) rows.push(...(await provisioning(quick ? 1 : 3, quick ? 2_000 : 10_000)));
  if (want('audit')) rows.push(...auditRows(quick ? [2_000, 10_000] : [10_000, 100_000, 300_000], 3, row));
  return rows;
}

async function main() {
  if (only?.every((name) => OFFLINE.includes(name))) {
    print(await offlineRows(), { address: 'not used' });
    return;
  }
  installRuntime('ERROR');
  const { client, target } = await connectClient({ log: () => {} });
  const { connection } = await connectWorkerConnection({ target, startDevServer: false });
  const taskQueue = `bench-${randomUUID()}`;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: quiet,
  });
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
  const rows = [];
  const startSop = (plan, run) => support.startSop(client, taskQueue, plan, run);

  await worker.runUntil(async () => {
    // warm-up: the first workflow pays for isolate creation
    await (await startSop(chainPlan('warmup', 2), workspace('warmup'))).result();

    // 1. overhead: 20 agent steps through the interpreter vs 20 no-op activities
    if (want('overhead')) await overhead();
    if (want('throughput')) await throughput();
    if (want('history')) await history();
    if (want('parallel') && !quick) await parallel();
  });
  if (want('startup')) await startup();
  // the worker processes of the fleet rows load the bundle from a file, written once
  const codePath = want('fleet') || wantCluster ? bundleFile(workflowBundle) : undefined;
  if (want('fleet')) {
    rows.push(
      ...(await fleetRows({
        client,
        address: target.address,
        codePath,
        label: 'dev server',
        counts: quick ? [1, 2] : [1, 2, 4],
        n: size(200, 40),
        rounds: size(2, 1),
        target: 'reference (target on the cluster)',
      })),
    );
  }
  await connection.close();
  await client.connection.close();
  if (wantCluster) rows.push(...(await clusterRows(workflowBundle, codePath)));
  if (codePath) fs.rmSync(path.dirname(codePath), { recursive: true, force: true });
  rows.push(...(await offlineRows()));
  print(rows, {
    address: wantCluster ? `${target.address} (the cluster rows: ${clusterAddress})` : target.address,
  });

  async function overhead() {
    const reps = size(5, 2);
    let sopMs = 0;
    let rawMs = 0;
    for (let i = 0; i < reps; i++) {
      const run = workspace('overhead');
      sopMs += (await time(async () => (await startSop(chainPlan('overhead', 20), run)).result())).ms;
      rawMs += (
        await time(() =>
          client.workflow.execute('rawSteps', { workflowId: `raw/${randomUUID()}`, taskQueue, args: [20] }),
        )
      ).ms;
    }
    rows.push(row('overhead: 20-step SOP vs 20 raw activities', sopMs / reps, rawMs / reps, 'ms', '<= 1.15'));
  }

  // 2. throughput: N concurrent 5-step runs vs N raw 5-activity workflows
  async function throughput() {
    const n = size(200, 40);
    // The dev server's speed drifts as its database grows: rounds alternate which side goes first and the
    // figure is the total over all rounds.
    const rounds = size(3, 1);
    const { sopRate, rawRate } = await throughputPair(client, taskQueue, 'throughput', n, rounds);
    rows.push(
      row(
        `throughput: ${n} concurrent 5-step runs, ${rounds} rounds (runs/s)`,
        sopRate,
        rawRate,
        'runs/s',
        '>= 0.8',
      ),
    );
  }

  // 3. history economy: events per agent step, and the largest single history of a long worklist
  async function history() {
    const chain = await startSop(chainPlan('economy', 20), workspace('economy'));
    await chain.result();
    const events = (await chain.fetchHistory()).events.length;
    const rawHandle = await client.workflow.start('rawSteps', {
      workflowId: `raw/${randomUUID()}`,
      taskQueue,
      args: [20],
    });
    await rawHandle.result();
    const rawEvents = (await rawHandle.fetchHistory()).events.length;
    rows.push(
      row(
        'history: events per agent step (20-step SOP)',
        events / 20,
        rawEvents / 20,
        'events',
        '<= 12 absolute',
      ),
    );

    rows.push(await worklistRow(client, taskQueue, size(5000, 500), 'dev server'));
  }

  // 5. parallel worklist: 8 independent items of 5 s at concurrency 4 vs 1
  async function parallel() {
    const par = [];
    for (const concurrency of [4, 1]) {
      const run = worklistWorkspace('parallel', 8);
      par.push(
        (
          await time(async () =>
            (await startSop(worklistPlan('parallel', 'slow', concurrency), run)).result(),
          )
        ).ms,
      );
    }
    rows.push(
      row('parallel worklist: 8 items x 5 s, concurrency 4 vs 1 (wall)', par[0], par[1], 'ms', '<= 0.3'),
    );
  }

  // 4. start-up: a worker from the pre-built bundle vs one that bundles at start
  async function startup() {
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
    rows.push(
      row(
        'start-up: worker ready, pre-built bundle vs bundling at start',
        prebuilt.ms,
        bundling.ms,
        'ms',
        'lower is better',
      ),
    );
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
    rows.push(
      row(
        `runs list: SopClient.list (${listing.value} runs) vs raw list (${rawList.value})`,
        listing.ms,
        rawList.ms,
        'ms',
        'lower is better',
      ),
    );
  }
}

/**
 * The largest single history of a long worklist (continue-as-new keeps each run's history bounded), with
 * the time the whole worklist took, on the workers of `taskQueue`.
 */
async function worklistRow(client, taskQueue, items, label) {
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
  return row(
    `history (${label}): largest single history, ${items}-item worklist (${runs} runs via continue-as-new, ${(wl.ms / 1000).toFixed(1)} s)`,
    largest,
    10_240,
    'events',
    '< 1.0',
  );
}

/** The bench workflow bundle as a file, for worker processes. */
function bundleFile(workflowBundle) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-bench-bundle-')), 'workflows.js');
  fs.writeFileSync(file, workflowBundle.code);
  return file;
}

/**
 * The same fleet rows (worker processes loading `codePath`), and the 5,000-item worklist, on the PostgreSQL-backed cluster of temporal/cluster/
 * (started, and built and PostgreSQL installed on first use; stopped again when this run started it). A
 * cluster that cannot start gives one row saying why instead of figures.
 */
async function clusterRows(workflowBundle, codePath) {
  const started = spawnSync('bash', [path.join(__dirname, '..', 'temporal', 'cluster', 'start.sh')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (started.status !== 0) {
    process.stderr.write(started.stderr);
    return [
      {
        name: `cluster: not measured, temporal/cluster/start.sh failed (exit ${started.status}; see above)`,
        value: 0,
        baseline: 0,
        ratio: 0,
        unit: '',
        target: '>= 0.8',
      },
    ];
  }
  const startedHere = /Temporal server started/.test(started.stderr);
  const address = clusterAddress;
  const client = new Client({ connection: await Connection.connect({ address }) });
  const connection = await NativeConnection.connect({ address });
  const rows = [];
  try {
    rows.push(
      ...(await fleetRows({
        client,
        address,
        codePath,
        label: 'PostgreSQL cluster',
        counts: quick ? [1, 2] : [1, 2, 4],
        n: size(200, 40),
        rounds: size(2, 1),
        target: '>= 0.8',
      })),
    );
    const taskQueue = `bench-${randomUUID()}`;
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle,
      activities: {
        ...createActivities({ runners: { codex: instant }, plans: support.benchPlans }),
        noop: async () => undefined,
      },
      maxConcurrentActivityTaskExecutions: 200,
    });
    rows.push(await worker.runUntil(worklistRow(client, taskQueue, size(5000, 500), 'PostgreSQL cluster')));
  } finally {
    await connection.close();
    await client.connection.close();
    if (startedHere) {
      spawnSync('bash', [path.join(__dirname, '..', 'temporal', 'cluster', 'stop.sh')], { stdio: 'ignore' });
    }
  }
  return rows;
}

/**
 * Per-step launch overhead of the real harnesses (through the adapters, against the scripted model
 * server): time from the start of an execution to the harness's first event, and to its outcome.
 * Baseline: spawning a bare `node -e 0` process the same way.
 */
async function harnessLaunch(reps) {
  const { startModelServer } = require('../dist/testing/model-server');
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
        await runner.run({
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
        firstEvent += first ?? Number.NaN;
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
 * never fetched it, then on one whose mirror has it already (every later run of that repository).
 */
async function provisioning(reps, files) {
  const { createWorkspaceActivities } = require('../dist/activities/workspaces');
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
  try {
    let cloneMs = 0;
    let firstMs = 0;
    let againMs = 0;
    for (let i = 0; i < reps; i++) {
      let t0 = performance.now();
      git(scratch, 'clone', '-q', remote, path.join(scratch, `clone-${i}`));
      cloneMs += performance.now() - t0;
      const { provisionWorkspace } = createWorkspaceActivities({
        workerQueue: 'bench',
        workRoot: path.join(scratch, `root-${i}`),
      });
      t0 = performance.now();
      await provisionWorkspace({ sop: 'bench', taskId: 'first', url: remote });
      firstMs += performance.now() - t0;
      t0 = performance.now();
      await provisionWorkspace({ sop: 'bench', taskId: 'again', url: remote });
      againMs += performance.now() - t0;
    }
    return [
      row(
        `provision: repo.url workspace, ${files} files, new worker vs git clone`,
        firstMs / reps,
        cloneMs / reps,
        'ms',
        'lower is better',
      ),
      row(
        `provision: repo.url workspace, ${files} files, mirror fetched before vs git clone`,
        againMs / reps,
        cloneMs / reps,
        'ms',
        'lower is better',
      ),
    ];
  } finally {
    for (const dir of [seed, remote, scratch]) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function print(rows, target) {
  const machine =
    `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model ?? ''}`.trim();
  const lines = [
    `| benchmark | value | baseline | ratio | target |`,
    `| --- | ---: | ---: | ---: | --- |`,
    ...rows.map(
      (r) => `| ${r.name} | ${r.value} ${r.unit} | ${r.baseline} ${r.unit} | ${r.ratio}x | ${r.target} |`,
    ),
  ];
  process.stdout.write(
    `${lines.join('\n')}\n\nmachine: ${machine}; Temporal at ${target.address}; node ${process.version}\n`,
  );
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), machine, quick, rows }, null, 2)}\n`,
  );
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
}

// `node -e "require('./bench/run').provisioning(1, 10000).then(console.table)"` measures one row alone
if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
    process.exit(1);
  });
}
module.exports = { provisioning };
