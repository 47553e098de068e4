import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import type { Client } from '@temporalio/client';
import { execa, type ResultPromise } from 'execa';
import { deliveryKey } from '../../src/forge/forge';
import { forgeFromEnv } from '../../src/forge/github';
import type { ScriptedForge } from '../../src/scripted-forge/server';
import { statusQuery } from '../../src/shapes/messages';
import { packageRoot } from '../../src/temporal/package-paths';
import { createSopWorker } from '../../src/worker/create-worker';
import { forgeWithRepo, git, REPO, RUN_BRANCH, type workingRepo } from '../support/scripted-forge';
import { catalogProject } from '../support/sop-project';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';

// The GitHub App's one endpoint through the real `sop serve` process, a real worker and the scripted forge:
// an issue delivery starts a run of each SOP whose trigger matches (a redelivery none, a bad signature
// nothing); the review of the run's pull request on the forge, delivered as GitHub delivers it, reaches the
// run waiting at its review gate; a review after the run finished starts a follow-up run of the same task.

const SECRET = `app-secret-${randomUUID()}`;
const BOT = 'ghs_botTOKEN0123456789abcdefghijklmnop';
const ALICE = 'ghp_aliceTOKEN0123456789abcdefghijklmn';
const taskQueue = `github-app-${randomUUID().slice(0, 8)}`;

const hook = (filter: string) => `    webhook:
      name: github
      secret_env: SOP_GITHUB_WEBHOOK_SECRET
      filter: ${filter}
    input: { request: "{{ payload.issue.title }}" }`;

const project = catalogProject('sop-github-app-', {
  gated: `name: gated
input:
  request: { type: string }
triggers:
  bugs:
${hook('{ event: issues, action: labeled, labels: [bug] }')}
steps:
  fix:
    kind: command
    run: "true"
    routes: { passed: review, failed: { fail: true } }
  review:
    question: "Review the fix for {{ input.request }}"
    review: { allow: [alice] }
    routes:
      approved: finish
      rejected: fix
`,
  notify: `name: notify
input:
  request: { type: string }
triggers:
  bug_notice:
${hook('{ event: issues, labels: [bug] }')}
  docs_notice:
${hook('{ event: issues, labels: [docs] }')}
steps:
  tell:
    kind: command
    run: "true"
    routes: { passed: finish, failed: { fail: true } }
`,
});

let ctx: TemporalTestContext;
let forge: ScriptedForge;
let work: ReturnType<typeof workingRepo>;
let serve: ResultPromise;
let serveLog = '';
let port: number;

beforeAll(async () => {
  ctx = await connectForTest();
  ({ forge, work } = await forgeWithRepo());
  forge.addToken(BOT, { login: 'sop-bot' });
  forge.addToken(ALICE, { login: 'alice' });
  serve = execa('node', [path.join(packageRoot, 'bin', 'sop.js'), 'serve', '--port', '0'], {
    cwd: project,
    env: { SOP_TASK_QUEUE: taskQueue, SOP_GITHUB_WEBHOOK_SECRET: SECRET },
    stdin: 'ignore',
    reject: false,
  });
  port = await new Promise<number>((resolve, reject) => {
    serve.stderr?.on('data', (chunk: Buffer) => {
      serveLog += chunk.toString();
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(serveLog);
      if (m) resolve(Number(m[1]));
    });
    void serve.then(() => reject(new Error(`sop serve exited: ${serveLog}`)));
  });
}, 60_000);

afterAll(async () => {
  serve?.kill('SIGTERM');
  await serve;
  await forge?.close();
  if (work) fs.rmSync(work.dir, { recursive: true, force: true });
  await ctx?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: a JSON answer, asserted with toMatchObject
type Json = Record<string, any>;

async function deliver(event: string, payload: object, delivery: string, secret = SECRET) {
  const body = JSON.stringify(payload);
  const res = await fetch(`http://127.0.0.1:${port}/hooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': delivery,
      'x-hub-signature-256': await sign(secret, body),
    },
    body,
  });
  return { status: res.status, json: (await res.json()) as Json };
}

const repository = { name: REPO.repo, owner: { login: REPO.owner } };
const labeled = (title: string) => ({
  action: 'labeled',
  label: { name: 'bug' },
  issue: { number: 7, title, labels: [{ name: 'bug' }] },
  repository,
});

async function statusOf(client: Client, workflowId: string) {
  return client.workflow.getHandle(workflowId).query(statusQuery);
}

/** Alice reviews the pull request on the forge; then GitHub's pull_request_review delivery for it. */
async function review(
  pull: number,
  branch: string,
  event: 'REQUEST_CHANGES' | 'APPROVE',
  comments: object[] = [],
) {
  const body = event === 'APPROVE' ? '' : 'Handle the empty password too.';
  const res = await fetch(`${forge.url}/repos/acme/widgets/pulls/${pull}/reviews`, {
    method: 'POST',
    headers: { authorization: `token ${ALICE}`, 'content-type': 'application/json' },
    body: JSON.stringify({ event, body, comments }),
  });
  const created = (await res.json()) as { id: number; html_url: string };
  return {
    action: 'submitted',
    review: {
      id: created.id,
      state: event === 'APPROVE' ? 'approved' : 'changes_requested',
      body,
      user: { login: 'alice' },
      author_association: 'COLLABORATOR',
      html_url: created.html_url,
    },
    pull_request: { number: pull, head: { ref: branch }, body: 'The fix.' },
    repository,
  };
}

test('one delivery starts a run of each matching trigger across SOPs; the redelivery starts none; a bad signature is refused', async () => {
  const delivery = randomUUID();
  const first = await deliver('issues', labeled('Login fails'), delivery);
  expect(first.status).toBe(202);
  expect(
    first.json.runs.map((r: { workflowId: string; status: string }) => `${r.workflowId} ${r.status}`).sort(),
  ).toEqual([`gated/bugs-${delivery} started`, `notify/bug_notice-${delivery} started`]);
  const again = await deliver('issues', labeled('Login fails'), delivery);
  expect(again.status).toBe(200);
  expect(again.json.status).toBe('duplicate');
  const bad = await deliver('issues', labeled('Login fails'), randomUUID(), 'guessed');
  expect(bad.status).toBe(401);
  expect(bad.json.error).toContain('wrong signature');
  const { count } = await ctx.client.workflow.count(`TaskQueue = "${taskQueue}"`);
  expect(count).toBe(2);
  await ctx.client.workflow.getHandle(`gated/bugs-${delivery}`).terminate('not needed further');
  await ctx.client.workflow.getHandle(`notify/bug_notice-${delivery}`).terminate('not needed further');
}, 60_000);

test('the pull request review reaches the run waiting at its gate; approved finishes it; a later review starts a follow-up run of the same task', async () => {
  const worker = await createSopWorker({
    connection: ctx.connection,
    target: ctx.target,
    taskQueue,
    activities: {
      projectDir: project,
      forgeEnv: { SOP_GITHUB_API_URL: forge.url, SOP_GITHUB_TOKEN: BOT },
    },
  });
  const followed = await worker.runUntil(async () => {
    const delivery = randomUUID();
    const started = await deliver('issues', labeled('Login fails on Mondays'), delivery);
    expect(started.status).toBe(202);
    const workflowId = `gated/bugs-${delivery}`;
    const branch = `sop/${workflowId}`;
    // the run's pull request (the deliver step's part; made here through the adapter)
    git(work.dir, ['push', '--quiet', forge.repo('acme/widgets').dir, `${RUN_BRANCH}:refs/heads/${branch}`]);
    const pull = await forgeFromEnv({
      SOP_GITHUB_API_URL: forge.url,
      SOP_GITHUB_TOKEN: BOT,
    }).ensurePullRequest(REPO, {
      key: deliveryKey(workflowId, 'pull-request'),
      head: branch,
      base: 'main',
      title: 'Fix Mondays',
      body: 'The fix.',
    });
    await eventually(
      async () => ((await statusOf(ctx.client, workflowId)).status === 'waiting_input' ? true : undefined),
      30_000,
    );

    const changes = await review(pull.number, branch, 'REQUEST_CHANGES', [
      { path: 'src/login.ts', line: 12, body: 'This throws on an empty string.' },
    ]);
    const sent = await deliver('pull_request_review', changes, randomUUID());
    expect(sent.status).toBe(202);
    expect(sent.json.review).toMatchObject({ status: 'delivered', workflowId });
    const back = await eventually(async () => {
      const status = await statusOf(ctx.client, workflowId);
      return status.status === 'waiting_input' && status.routesTaken.length === 3 ? status : undefined;
    }, 30_000);
    expect(back.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual([
      'fix:passed',
      'review:rejected',
      'fix:passed',
    ]);
    expect(back.reviews?.[0]).toMatchObject({ by: 'alice', outcome: 'rejected', kind: 'changes_requested' });

    const approved = await deliver(
      'pull_request_review',
      await review(pull.number, branch, 'APPROVE'),
      randomUUID(),
    );
    expect(approved.json.review).toMatchObject({ status: 'delivered' });
    const handle = ctx.client.workflow.getHandle(workflowId);
    await handle.result();
    // the gate's evidence: who reviewed, and the inline comment the worker read from the forge
    const runFolder = path.join(project, '.sop', 'runs', 'gated', `bugs-${delivery}`);
    const answers = fs
      .readdirSync(path.join(runFolder, 'steps', 'review'))
      .map((d) =>
        JSON.parse(fs.readFileSync(path.join(runFolder, 'steps', 'review', d, 'evidence.json'), 'utf8')),
      );
    expect(answers[0].answer.review).toMatchObject({
      by: 'alice',
      comments: [{ path: 'src/login.ts', line: 12, body: 'This throws on an empty string.' }],
    });

    // reviewed again after it finished: a follow-up run of the same task, once per delivery
    const later = await review(pull.number, branch, 'REQUEST_CHANGES', [
      { path: 'src/logout.ts', line: 3, body: 'And here.' },
    ]);
    const laterDelivery = randomUUID();
    const followUp = await deliver('pull_request_review', later, laterDelivery);
    expect(followUp.status).toBe(202);
    expect(followUp.json.review).toMatchObject({
      status: 'follow_up',
      workflowId,
      reason: 'rerun from the review gate review',
    });
    const redelivered = await deliver('pull_request_review', later, laterDelivery);
    expect(redelivered.json.review).toMatchObject({ status: 'duplicate' });
    // the review answered the rerun gate: rejected, back to fix, and the gate waits again
    const again = await eventually(async () => {
      const status = await statusOf(ctx.client, workflowId);
      return status.status === 'waiting_input' && status.routesTaken.length === 6 ? status : undefined;
    }, 30_000);
    expect(again.routesTaken.slice(4).map((r) => `${r.step}:${r.route}`)).toEqual([
      'review:rejected',
      'fix:passed',
    ]);
    expect(again.reviews?.at(-1)).toMatchObject({
      delivery: laterDelivery,
      by: 'alice',
      outcome: 'rejected',
    });
    // the follow-up's gate read that review's inline comments too
    const followUpAnswers = fs
      .readdirSync(path.join(runFolder, 'steps', 'review'))
      .map((d) => fs.readFileSync(path.join(runFolder, 'steps', 'review', d, 'evidence.json'), 'utf8'));
    expect(followUpAnswers.some((text) => text.includes('src/logout.ts'))).toBe(true);
    const description = await handle.describe();
    expect(description.runId).toBe(followUp.json.review.runId);
    expect(description.memo?.followUp).toMatchObject({
      delivery: laterDelivery,
      by: 'alice',
      kind: 'changes_requested',
    });
    await deliver('pull_request_review', await review(pull.number, branch, 'APPROVE'), randomUUID());
    await handle.result();
    const { count } = await ctx.client.workflow.count(`WorkflowId = "${workflowId}"`);
    expect(count).toBe(2);
    return { pull, branch };
  });
  // no worker polls now: the finished run's plan cannot be read, so the sender is told to retry later
  const unread = await deliver(
    'pull_request_review',
    await review(followed.pull.number, followed.branch, 'REQUEST_CHANGES'),
    randomUUID(),
  );
  expect(unread.status).toBe(503);
  expect(serveLog).not.toContain('Handle the empty password');
}, 120_000);
