#!/usr/bin/env node
// Webhook ingress load test (loopback only, bounded): a real `sop serve` on a free port in front of the
// running Temporal (TEMPORAL_ADDRESS, or the embedded dev server: `sop temporal start`), fed N deliveries
// at a fixed concurrency: 80 % valid and new, 10 % with a bad signature, 10 % redeliveries of valid ones.
// Checks every answer (202 new / 401 bad / 200 redelivery with the first run's id) and that exactly the
// valid deliveries started runs (counted in visibility on a task queue of its own; no worker serves it,
// so the runs are started, not executed, and are terminated at the end). Prints one JSON line with the
// counts and the ingress latency percentiles; exits 1 when a check fails.
//   node bench/webhook-load.js [--deliveries=1000] [--concurrency=16]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { randomUUID } = require('node:crypto');
const { spawn } = require('node:child_process');
const { connectClient } = require('../dist/temporal/connect');
const { signBody } = require('../dist/serve/signature');

const arg = (name, fallback) => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? Number(found.slice(name.length + 3)) : fallback;
};
const total = arg('deliveries', 1000);
const concurrency = arg('concurrency', 16);
const root = path.join(__dirname, '..');
const SECRET = randomUUID();

/** A project with one tiny SOP that a GitHub `issues` webhook starts. */
function probeProject() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-webhook-load-'));
  fs.mkdirSync(path.join(dir, 'sops', 'load_probe'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'sops', 'load_probe', 'sop.yaml'),
    [
      'name: load_probe',
      'input:',
      '  title: { type: string }',
      'triggers:',
      '  issue:',
      '    webhook: { name: load, secret_env: SOP_LOAD_SECRET, filter: { event: issues } }',
      '    input: { title: "{{ payload.issue.title }}" }',
      'steps:',
      '  check:',
      '    kind: command',
      '    run: "true"',
      '    routes: { passed: { finish: true }, failed: { fail: true } }',
      '',
    ].join('\n'),
  );
  return dir;
}

function post(port, body, headers) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/hooks/load',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            body: text,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function waitForListening(child) {
  return new Promise((resolve, reject) => {
    let log = '';
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(log);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`sop serve exited (${code}): ${log}`)));
  });
}

const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main() {
  const project = probeProject();
  const taskQueue = `webhook-load-${randomUUID().slice(0, 8)}`;
  const serve = spawn(
    process.execPath,
    [path.join(root, 'bin', 'sop.js'), 'serve', '--port', '0', '--project', project],
    {
      env: { ...process.env, SOP_LOAD_SECRET: SECRET, SOP_TASK_QUEUE: taskQueue },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const { client } = await connectClient({ startDevServer: false });
  try {
    const port = await waitForListening(serve);
    const valid = Math.round(total * 0.8);
    const bad = Math.round(total * 0.1);
    const redelivered = total - valid - bad;
    const deliveries = [];
    for (let i = 0; i < valid; i++) deliveries.push({ kind: 'valid', id: `${taskQueue}-${i}` });
    for (let i = 0; i < bad; i++) deliveries.push({ kind: 'bad', id: `${taskQueue}-bad-${i}` });
    // redeliveries go after the deliveries they repeat (the sender retries a delivery it already sent)
    const work = [...deliveries];
    for (let i = 0; i < redelivered; i++) work.push({ kind: 'redelivery', id: `${taskQueue}-${i}` });
    const firstRun = new Map();
    const results = [];
    const problems = [];
    let next = 0;
    async function sender() {
      while (next < work.length) {
        const d = work[next++];
        const body = JSON.stringify({ action: 'opened', issue: { number: 1, title: `load ${d.id}` } });
        const signature = d.kind === 'bad' ? signBody('not-the-secret', body) : signBody(SECRET, body);
        const res = await post(port, body, {
          'x-github-event': 'issues',
          'x-github-delivery': d.id,
          'x-hub-signature-256': signature,
        });
        results.push({ ...d, ...res });
        const want = d.kind === 'valid' ? 202 : d.kind === 'bad' ? 401 : 200;
        if (res.status !== want) problems.push(`${d.kind} ${d.id}: ${res.status} (want ${want}) ${res.body}`);
        if (d.kind === 'valid') firstRun.set(d.id, JSON.parse(res.body).runId);
      }
    }
    const started = Date.now();
    await Promise.all(Array.from({ length: concurrency }, sender));
    const wallMs = Date.now() - started;
    for (const r of results.filter((r) => r.kind === 'redelivery' && r.status === 200)) {
      const runId = JSON.parse(r.body).runId;
      if (runId !== firstRun.get(r.id))
        problems.push(`redelivery ${r.id}: run ${runId}, not the first ${firstRun.get(r.id)}`);
    }
    // visibility is eventually consistent: wait until the count settles at the expected value (or 60 s)
    const query = `TaskQueue = "${taskQueue}"`;
    let runs = 0;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      runs = Number((await client.workflow.count(query)).count);
      if (runs >= valid) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 1_000));
    runs = Number((await client.workflow.count(query)).count);
    if (runs !== valid) problems.push(`runs started: ${runs}, want exactly ${valid}`);
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    const round = (x) => Math.round(x * 10) / 10;
    const summary = {
      deliveries: results.length,
      concurrency,
      answers: {
        accepted202: results.filter((r) => r.status === 202).length,
        duplicate200: results.filter((r) => r.status === 200).length,
        unauthorized401: results.filter((r) => r.status === 401).length,
        other: results.filter((r) => ![200, 202, 401].includes(r.status)).length,
      },
      runsStarted: runs,
      latencyMs: {
        p50: round(percentile(ms, 50)),
        p95: round(percentile(ms, 95)),
        p99: round(percentile(ms, 99)),
        max: round(ms[ms.length - 1]),
      },
      wallMs,
      problems,
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    // the probe runs have no worker: terminate them
    for await (const wf of client.workflow.list({ query: `${query} AND ExecutionStatus = "Running"` }))
      await client.workflow
        .getHandle(wf.workflowId)
        .terminate('webhook load test cleanup')
        .catch(() => undefined);
    process.exitCode = problems.length > 0 ? 1 : 0;
  } finally {
    serve.kill('SIGTERM');
    agent.destroy();
    await client.connection.close();
    fs.rmSync(project, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
