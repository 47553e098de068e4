#!/usr/bin/env node
// Benchmarks (`npm run bench`): every figure is a ratio against a baseline measured in the same run on the
// same dev server, printed as a table and written as JSON to bench/results/. `--quick` runs smaller sizes.
// Workspaces (a `git init` each) are made before a timer starts: they stand for the user's repositories.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { Worker, bundleWorkflowCode } = require('@temporalio/worker');
const { connectClient, connectWorkerConnection } = require('../dist/temporal/connect');
const { createActivities } = require('../dist/activities');
const { installRuntime } = require('../dist/worker/runtime');
const { prebuiltBundlePath } = require('../dist/worker/workflow-bundle');
const { SopName, SopStatus, SopTaskId } = require('../dist/temporal/search-attributes');
const { CURRENT_ENGINE } = require('../dist/workflows/engine-version');
const { auditRows } = require('./audit');

const quick = process.argv.includes('--quick');
// `--only=throughput,overhead` runs some of the benchmarks (names: overhead, throughput, history, parallel,
// startup, launch, provision, audit)
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const want = (name) => !only || only.includes(name);
const size = (full, small) => (quick ? small : full);

const instant = {
  async run(execution) {
    const route = execution.request.routes[0]?.name ?? 'done';
    if (execution.request.step.startsWith('slow')) await new Promise((r) => setTimeout(r, 5_000));
    return {
      outcome: { route, payload: { summary: '', details: '' } },
      usage: { inputTokens: 1, outputTokens: 1, costUsd: 0 },
    };
  },
};

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

function chainPlan(sop, n) {
  const steps = Array.from({ length: n }, (_, i) =>
    step(`s${i + 1}`, i + 1 < n ? { kind: 'step', step: `s${i + 2}` } : { kind: 'finish' }),
  );
  return { sop, bundleHash: 'bench', steps, artifacts: [], worklists: [], budgets: {} };
}

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
  const activities = { ...createActivities({ runners: { codex: instant } }), noop: async () => undefined };
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle,
    activities,
    maxConcurrentActivityTaskExecutions: 200,
  });
  const rows = [];
  const startSop = (plan, run, options) =>
    client.workflow.start(plan.sop, {
      workflowId: `${plan.sop}/${run.taskId}`,
      taskQueue,
      // as SopClient.start does
      args: [{ plan, run, input: {}, params: {}, options, engine: CURRENT_ENGINE }],
      typedSearchAttributes: [
        { key: SopName, value: plan.sop },
        { key: SopTaskId, value: run.taskId },
        { key: SopStatus, value: 'running' },
      ],
    });
  const time = async (fn) => {
    const t0 = performance.now();
    const value = await fn();
    return { ms: performance.now() - t0, value };
  };

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
  rows.push(...(await offlineRows()));
  await connection.close();
  await client.connection.close();
  print(rows, target);

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
    const sop = async () => {
      const runs = Array.from({ length: n }, () => workspace('throughput'));
      return (
        await time(async () => {
          const handles = await Promise.all(runs.map((run) => startSop(chainPlan('throughput', 5), run)));
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
    rows.push(
      row(
        `throughput: ${n} concurrent 5-step runs, ${rounds} rounds (runs/s)`,
        (rounds * n * 1000) / sopMs,
        (rounds * n * 1000) / rawMs,
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

    const items = size(5000, 500);
    const wlRun = workspace('worklist');
    fs.writeFileSync(
      path.join(wlRun.workspace, 'work.json'),
      JSON.stringify({
        items: Array.from({ length: items }, (_, i) => ({ id: `i${i}`, status: 'pending' })),
      }),
    );
    const wl = await time(async () => (await startSop(worklistPlan('worklist', 'item', 1), wlRun)).result());
    let largest = 0;
    let runs = 0;
    for await (const wf of client.workflow.list({ query: `WorkflowId = "worklist/${wlRun.taskId}"` })) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      largest = Math.max(largest, history.events.length);
      runs++;
    }
    rows.push(
      row(
        `history: largest single history, ${items}-item worklist (${runs} runs via continue-as-new, ${(wl.ms / 1000).toFixed(1)} s)`,
        largest,
        10_240,
        'events',
        '< 1.0',
      ),
    );
  }

  // 5. parallel worklist: 8 independent items of 5 s at concurrency 4 vs 1
  async function parallel() {
    const par = [];
    for (const concurrency of [4, 1]) {
      const run = workspace('parallel');
      fs.writeFileSync(
        path.join(run.workspace, 'work.json'),
        JSON.stringify({
          items: Array.from({ length: 8 }, (_, i) => ({ id: `i${i}`, status: 'pending' })),
        }),
      );
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
const round = (x, digits = 1) => Number(x.toFixed(digits));

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

const quiet = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error: (m) => process.stderr.write(`${m}\n`),
};

// `node -e "require('./bench/run').provisioning(1, 10000).then(console.table)"` measures one row alone
if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
    process.exit(1);
  });
}
module.exports = { provisioning };
