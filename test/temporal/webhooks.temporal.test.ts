import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { signBody } from '../../src/serve/signature';
import { packageRoot } from '../../src/temporal/package-paths';
import { createSopWorker } from '../../src/worker/create-worker';
import { freePort } from '../support/free-port';
import { runSop } from '../support/run-sop';
import { sopProject } from '../support/sop-project';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';

// `sop serve` as a user runs it (the real CLI process) in front of the test dev server: signed GitHub
// deliveries start runs of the hook's SOP once per delivery id, served by a real worker.

const SECRET = `s3cret-${randomUUID()}`;
const taskQueue = `webhooks-${randomUUID().slice(0, 8)}`;
const project = sopProject(
  'issue_probe',
  [
    'input:',
    '  title: { type: string }',
    '  number: { type: integer }',
    'triggers:',
    '  bug_issue:',
    '    webhook:',
    '      name: probe',
    '      secret_env: SOP_PROBE_SECRET',
    '      filter: { event: issues, action: [opened, labeled], labels: [bug] }',
    '    input: { title: "{{ payload.issue.title }}", number: "{{ payload.issue.number }}" }',
    'steps:',
    '  check:',
    '    kind: command',
    '    run: "true"',
    '    routes: { passed: { finish: true }, failed: { fail: true } }',
  ],
  {},
);

interface Served {
  process: ResultPromise;
  port: number;
  log: () => string;
}

async function serve(env: Record<string, string>): Promise<Served> {
  const child = execa(
    'node',
    [path.join(packageRoot, 'bin', 'sop.js'), 'serve', '--port', '0', '--body-limit', '4096'],
    {
      cwd: project,
      env: { SOP_TASK_QUEUE: taskQueue, ...env },
      stdin: 'ignore',
      reject: false,
    },
  );
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(log);
      if (m) resolve(Number(m[1]));
    });
    void child.then(() => reject(new Error(`sop serve exited: ${log}`)));
  });
  return { process: child, port, log: () => log };
}

const issue = (title: string, labels: string[], action = 'labeled') =>
  JSON.stringify({ action, issue: { number: 7, title, labels: labels.map((name) => ({ name })) } });

async function deliver(
  port: number,
  body: string,
  headers: Record<string, string>,
  hook = 'probe',
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${port}/hooks/${hook}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'issues', ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

const signed = (body: string, delivery: string) => ({
  'x-github-delivery': delivery,
  'x-hub-signature-256': signBody(SECRET, body),
});

let ctx: TemporalTestContext;
let served: Served;

beforeAll(async () => {
  ctx = await connectForTest();
  served = await serve({ SOP_PROBE_SECRET: SECRET });
}, 60_000);

afterAll(async () => {
  served?.process.kill('SIGTERM');
  await served?.process;
  await ctx?.close();
});

test('a signed delivery starts one run (202 with its id), which a worker completes; a redelivery answers 200 with the same run', async () => {
  const delivery = randomUUID();
  const body = issue('Login page returns 500', ['bug']);
  const first = await deliver(served.port, body, signed(body, delivery));
  expect(first.status).toBe(202);
  expect(first.json.workflowId).toBe(`issue_probe/probe-${delivery}`);
  const again = await deliver(served.port, body, signed(body, delivery));
  expect(again.status).toBe(200);
  expect(again.json).toMatchObject({
    status: 'duplicate',
    workflowId: first.json.workflowId,
    runId: first.json.runId,
  });

  const worker = await createSopWorker({
    connection: ctx.connection,
    target: ctx.target,
    taskQueue,
    activities: { projectDir: project },
  });
  const handle = ctx.client.workflow.getHandle(String(first.json.workflowId));
  await worker.runUntil(handle.result());
  const description = await handle.describe();
  expect(description.runId).toBe(first.json.runId);
  expect(description.status.name).toBe('COMPLETED');
  // the run's memo says which hook and delivery started it
  expect(description.memo?.trigger).toEqual({ kind: 'webhook', hook: 'probe', delivery, event: 'issues' });
  // the payload reached the run's input through the trigger's input: mapping
  const show = await runSop(['runs', 'show', String(first.json.workflowId), '--json'], { cwd: project });
  expect(show.exitCode).toBe(0);
  expect(JSON.parse(String(show.stdout))).toMatchObject({
    status: 'completed',
    // what started it: the hook and delivery, through `sop serve` (its client identity)
    startedBy: {
      kind: 'webhook',
      hook: 'probe',
      delivery,
      event: 'issues',
      identity: expect.stringMatching(/\S/),
    },
    runFolder: expect.stringMatching(/\.sop\/runs\/issue_probe\/probe-/),
  });
  const text = await runSop(['runs', 'show', String(first.json.workflowId)], { cwd: project });
  expect(String(text.stdout)).toContain(
    `started by webhook probe, delivery ${delivery} (event issues), through sop serve as `,
  );
  const history = await handle.fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const input = JSON.parse(Buffer.from(started?.input?.payloads?.[0]?.data ?? []).toString());
  expect(input.input).toEqual({ title: 'Login page returns 500', number: 7 });
  // one run for two deliveries of the same id
  const count = await eventually(async () => {
    const { count } = await ctx.client.workflow.count(`WorkflowId = "${first.json.workflowId}"`);
    return count > 0 ? count : undefined;
  });
  expect(count).toBe(1);
}, 120_000);

test('a missing or wrong signature is 401 and starts nothing; nothing of the body reaches the log', async () => {
  const marker = `body-marker-${randomUUID()}`;
  const body = issue(marker, ['bug']);
  const wrong = await deliver(served.port, body, {
    'x-github-delivery': `bad-${randomUUID()}`,
    'x-hub-signature-256': signBody('another secret', body),
  });
  expect(wrong.status).toBe(401);
  const missing = await deliver(served.port, body, { 'x-github-delivery': `bad-${randomUUID()}` });
  expect(missing.status).toBe(401);
  // a signature over another body does not pass either
  const replayed = await deliver(served.port, body, {
    'x-github-delivery': `bad-${randomUUID()}`,
    'x-hub-signature-256': signBody(SECRET, issue('something else', ['bug'])),
  });
  expect(replayed.status).toBe(401);
  expect(served.log()).toContain('hook probe: 401');
  expect(served.log()).not.toContain(marker);
  const { count } = await ctx.client.workflow.count(
    `TaskQueue = "${taskQueue}" AND WorkflowId STARTS_WITH "issue_probe/probe-bad-"`,
  );
  expect(count).toBe(0);
});

test('unknown hook 404; a signed body that is not a JSON object 400; a delivery the filter rejects 200 ignored; a body over the limit 413; /healthz', async () => {
  const body = issue('x', ['bug']);
  expect((await deliver(served.port, body, signed(body, randomUUID()), 'nope')).status).toBe(404);
  for (const notObject of ['[{"action": "labeled"}]', '"labeled"', '{"action": ']) {
    const delivery = `notobject-${randomUUID()}`;
    const res = await fetch(`http://127.0.0.1:${served.port}/hooks/probe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        ...signed(notObject, delivery),
      },
      body: notObject,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'the body is not a JSON object (send content type application/json)',
    });
  }
  const { count } = await ctx.client.workflow.count(`WorkflowId STARTS_WITH "issue_probe/probe-notobject-"`);
  expect(count).toBe(0);
  const question = issue('How do I log in?', ['question']);
  const ignored = await deliver(served.port, question, signed(question, randomUUID()));
  expect(ignored.status).toBe(200);
  expect(ignored.json).toMatchObject({ status: 'ignored' });
  expect(String(ignored.json.reason)).toContain('bug');
  const big = issue('x'.repeat(5000), ['bug']);
  const tooBig = await fetch(`http://127.0.0.1:${served.port}/hooks/probe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signed(big, randomUUID()) },
    body: big,
  });
  expect(tooBig.status).toBe(413);
  const health = await fetch(`http://127.0.0.1:${served.port}/healthz`);
  expect(health.status).toBe(200);
});

test('Temporal unreachable: 503 with Retry-After, so the sender retries', async () => {
  const down = await serve({ SOP_PROBE_SECRET: SECRET, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` });
  try {
    const body = issue('while Temporal is down', ['bug']);
    const res = await deliver(down.port, body, signed(body, randomUUID()));
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  } finally {
    down.process.kill('SIGTERM');
    await down.process;
  }
}, 60_000);

test('load (bounded, loopback): 100 deliveries, 80 valid, 10 bad signatures, 10 redeliveries, start exactly 80 runs', async () => {
  const result = await execa(
    'node',
    [path.join(packageRoot, 'bench', 'webhook-load.js'), '--deliveries=100', '--concurrency=8'],
    {
      reject: false,
      stdin: 'ignore',
      timeout: 170_000,
    },
  );
  expect(result.stderr).toBe('');
  const summary = JSON.parse(String(result.stdout));
  expect(summary.problems).toEqual([]);
  expect(summary.answers).toEqual({ accepted202: 80, duplicate200: 10, unauthorized401: 10, other: 0 });
  expect(summary.runsStarted).toBe(80);
  expect(result.exitCode).toBe(0);
}, 180_000);

test('sop doctor names a webhook whose secret variable is unset', async () => {
  const doctor = await runSop(['doctor', '--json'], { cwd: project, env: { SOP_PROBE_SECRET: '' } });
  const checks = JSON.parse(String(doctor.stdout)) as Array<{ name: string; ok: boolean; detail: string }>;
  const hook = checks.find((c) => c.name === 'webhook probe');
  expect(hook).toMatchObject({ ok: false });
  expect(hook?.detail).toContain('SOP_PROBE_SECRET');
}, 60_000);
