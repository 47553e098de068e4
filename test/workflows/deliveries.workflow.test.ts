import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecutionPlan } from '../../src/shapes/execution-plan';
import type { RunStatusView } from '../../src/shapes/messages';
import { Deliver, deliverPlan } from '../../src/sop/deliver';
import {
  commentsOn,
  type ForgeWorld,
  FULL_NAME,
  forgeWorld,
  pullsOf,
  runOnForge,
  withForgeRun,
} from '../support/forge-fleet';
import { recordHistory } from '../support/histories';
import {
  failTarget,
  finish,
  makeWorkspace,
  plan,
  role,
  route,
  runRequest,
  servePlans,
  step,
  to,
} from '../support/plans';
import { appKeyPair } from '../support/scripted-forge';
import { ScriptedRunner } from '../support/scripted-runner';
import { connectForTest, eventually, type TemporalTestContext, withWorker } from '../support/temporal';

// Deliveries (`deliver:`) with the scripted harness on the real server and a scripted forge: the run branch is
// fetched and pushed over HTTP with the worker's token, the pull request, comments, labels and status are
// written by the runtime, keyed by run and delivery, so a retried write or a rerun never duplicates one.

let ctx: TemporalTestContext;
let world: ForgeWorld;
beforeAll(async () => {
  ctx = await connectForTest();
});
beforeEach(async () => {
  world = await forgeWorld();
});
afterEach(async () => {
  await world?.close();
});
afterAll(async () => {
  await ctx?.close();
});

const deliver = deliverPlan(
  Deliver.parse({
    pull_request: {
      title: 'Fix #{{ input.issue }}: {{ input.request }}',
      body: 'Closes #{{ input.issue }}.\n\n{{ steps.fix.payload.summary }}',
      labels: ['sop'],
    },
    comments: { tell: { issue: '{{ input.issue }}', body: 'The fix is in {{ pull_request.url }}' } },
    statuses: { ci: { context: 'sop/fixit' } },
    agent: {
      comments: { issue: '{{ input.issue }}', max: 1 },
      labels: { issue: '{{ input.issue }}', allowed: ['bug', 'needs-info'], max: 2 },
    },
  }),
);

const fixit = (sop: string, extra: Partial<ExecutionPlan> = {}): ExecutionPlan =>
  plan(
    sop,
    [
      step('fix', { agent: role('Fix the issue.'), routes: [route('done', to('check'))] }),
      step('check', {
        kind: 'command',
        command: { run: 'test -f fix.txt', timeoutMs: 30_000 },
        routes: [route('passed', finish), route('failed', failTarget('the check failed'))],
      }),
    ],
    { deliver, ...extra },
  );

const fixTurn = {
  route: 'done',
  summary: 'The Monday bug was a timezone offset.',
  write: { 'fix.txt': 'fixed\n' },
  deliver: { comments: ['Found it: a timezone bug.', 'And a second thought.'], labels: ['bug', 'wontfix'] },
};

/** run.json of the run, in the worktree it ended in */
function runJson(result: { placement?: { workspace: string } } | undefined, sop: string, task: string) {
  const file = path.join(result!.placement!.workspace, '.sop', 'runs', sop, task, 'run.json');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

test("the pull request targets the branch the run started from: repo.ref, else the remote's default branch", async () => {
  await world.close();
  world = await forgeWorld({ defaultBranch: 'trunk', branches: ['release-2'] });
  const p = fixit('fixit');
  const turns = () => new ScriptedRunner({ 'fix/agent': [fixTurn] });
  const onDefault = await runOnForge(ctx, world, p, turns(), { task: 'on-default' });
  expect(onDefault.error).toBeUndefined();
  const onRelease = await runOnForge(ctx, world, p, turns(), { task: 'on-release', ref: 'release-2' });
  expect(onRelease.error).toBeUndefined();
  const bases = Object.fromEntries(pullsOf(world).map((pr) => [pr.pull?.head, pr.pull?.base]));
  expect(bases).toEqual({ 'sop/fixit/on-default': 'trunk', 'sop/fixit/on-release': 'release-2' });
});

test('a run ends in one pull request carrying its record; a rerun of the task updates it, never a second', async () => {
  const p = fixit('fixit');
  const first = await runOnForge(ctx, world, p, new ScriptedRunner({ 'fix/agent': [fixTurn] }), {
    task: 'issue-1',
  });
  expect(first.error).toBeUndefined();
  await recordHistory(first.handle, 'request-deliver');
  const pulls = pullsOf(world);
  expect(pulls).toHaveLength(1);
  const pr = pulls[0];
  expect(pr.title).toBe('Fix #1: fix it');
  expect(pr.pull?.head).toBe('sop/fixit/issue-1');
  expect(pr.labels).toContain('sop');
  const body = pr.body ?? '';
  expect(body).toContain('Closes #1.');
  expect(body).toContain('The Monday bug was a timezone offset.');
  expect(body).toContain('### Run record `fixit/issue-1`');
  expect(body).toContain('**Status:** completed');
  expect(body).toContain('`fix` → `done` → check');
  expect(body).toContain('`check`: `test -f fix.txt` passed (exit 0)');
  expect(body).toMatch(/\*\*Cost:\*\* \$0\.\d{4} · 100 input \/ 10 output tokens · 1 agent run/);
  expect(body).toMatch(/\*\*Evidence:\*\* chain head `[0-9a-f]{64}` over \d+ record/);
  expect(body).toContain('<!-- sop:fixit/issue-1/pull-request -->');
  // the refused agent requests are in the record too
  expect(body).toContain('asked for label "wontfix": not an allowed label (allowed: bug, needs-info)');

  // the run branch was pushed over HTTP with the worker's token: the pull request's head is its last commit
  const repo = world.forge.repo(FULL_NAME);
  const head = world.forge.calls.filter((c) => c.route.startsWith('git POST git-receive-pack'));
  expect(head.length).toBeGreaterThan(0);
  expect(head.every((c) => c.identity?.login === 'sop-bot')).toBe(true);
  const status = repo.statuses.filter((s) => s.context === 'sop/fixit');
  expect(status.map((s) => s.state)).toEqual(['success']);
  expect(status[0].sha).toBe(first.result?.placement?.head);

  // comments on the issue: the SOP's, and the one agent comment allowed; the second is refused
  const comments = commentsOn(world, world.issue);
  expect(comments.map((c) => c.body.split('\n')[0]).sort()).toEqual([
    'Found it: a timezone bug.',
    `The fix is in ${pr.pull ? `${world.forge.url}/${FULL_NAME}/pull/${pr.number}` : ''}`,
  ]);
  expect(repo.issues.get(world.issue)?.labels).toEqual(['bug']);
  const refused = first.result?.forge?.refused.map((r) => `${r.kind} ${r.value}: ${r.reason}`);
  expect(refused).toEqual([
    'comment And a second thought.: more than the 1 comment(s) allowed per step (comment 2)',
    'label wontfix: not an allowed label (allowed: bug, needs-info)',
  ]);
  // recorded in run.json, not only in the workflow result
  const summary = runJson(first.result, 'fixit', 'issue-1');
  expect(summary.forge.refused).toHaveLength(2);
  expect(summary.forge.pullRequest).toEqual({ number: pr.number, url: expect.any(String), repo: FULL_NAME });

  // a rerun of the same task: the same pull request and comments, updated
  const again = await runOnForge(
    ctx,
    world,
    p,
    new ScriptedRunner({ 'fix/agent': [{ ...fixTurn, summary: 'Second look: it was DST.' }] }),
    { task: 'issue-1' },
  );
  expect(again.error).toBeUndefined();
  expect(pullsOf(world)).toHaveLength(1);
  expect(pullsOf(world)[0].body).toContain('Second look: it was DST.');
  expect(pullsOf(world)[0].body?.match(/### Run record/g)).toHaveLength(1);
  expect(commentsOn(world, world.issue)).toHaveLength(2);
  expect(again.result?.forge?.pullRequest?.number).toBe(pr.number);
});

test('an answer lost after GitHub acted (pull request, comment): the retried activity finds the write, no second one', async () => {
  world.forge.fail({ route: 'POST /repos/{owner}/{repo}/pulls', status: 502, when: 'after' });
  world.forge.fail({
    route: 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
    status: 502,
    when: 'after',
    times: 2,
  });
  const { error, result } = await runOnForge(
    ctx,
    world,
    fixit('fixit-lost'),
    new ScriptedRunner({ 'fix/agent': [fixTurn] }),
  );
  expect(error).toBeUndefined();
  expect(world.forge.calls.filter((c) => c.fault).length).toBe(3);
  expect(pullsOf(world)).toHaveLength(1);
  expect(commentsOn(world, world.issue)).toHaveLength(2);
  expect(result?.forge?.deliveries.filter((d) => d.action === 'failed')).toEqual([]);
});

test("a forge's 422 fails the delivery and the run with GitHub's own message", async () => {
  world.forge.fail({
    route: 'POST /repos/{owner}/{repo}/pulls',
    status: 422,
    message: 'A pull request already exists',
  });
  const { error, handle } = await runOnForge(
    ctx,
    world,
    fixit('fixit-422'),
    new ScriptedRunner({ 'fix/agent': [fixTurn] }),
  );
  const message = error?.cause?.message ?? '';
  expect(message).toContain('delivery pull-request: pull request for acme/widgets:sop/fixit-422/');
  expect(message).toContain('GitHub answered 422: Validation Failed; A pull request already exists');
  expect(pullsOf(world)).toHaveLength(0);
  // the `on: failure` status still reports the failure
  const statuses = world.forge.repo(FULL_NAME).statuses.filter((s) => s.context === 'sop/fixit');
  expect(statuses.map((s) => s.state)).toEqual(['failure']);
  expect(handle.workflowId).toContain('fixit-422/');
});

test('a forge rate limit parks the run until the reset (the status says until when), then the delivery goes on', async () => {
  world.forge.fail({ route: 'POST /repos/{owner}/{repo}/pulls', status: 429, rateLimit: { retryAfter: 3 } });
  const { parked, seenAt, endedAt, handle, error } = await withForgeRun(
    ctx,
    world,
    fixit('fixit-limited'),
    new ScriptedRunner({ 'fix/agent': [fixTurn] }),
    async ({ handle }) => {
      const parked = await eventually(async () => {
        const status = await handle.query<RunStatusView>('status');
        return status.forge?.rateLimitedUntilMs;
      });
      const seenAt = Date.now();
      const error = await handle.result().then(
        () => undefined,
        (e: Error) => e,
      );
      return { parked, seenAt, endedAt: Date.now(), handle, error };
    },
  );
  expect(error).toBeUndefined();
  // parked until the forge's Retry-After (3 s from its answer), and not done before then
  expect(parked).toBeGreaterThan(seenAt);
  expect(parked - seenAt).toBeLessThanOrEqual(3_000);
  expect(endedAt).toBeGreaterThanOrEqual(parked);
  expect(pullsOf(world)).toHaveLength(1);
  const created = world.forge.calls.filter((c) => c.route === 'POST /repos/{owner}/{repo}/pulls');
  expect(created.map((c) => c.status)).toEqual([429, 201]);
  await recordHistory(handle, 'request-deliver-ratelimit');
  // parked on a durable timer (in history), not a sleeping activity
  const history = await handle.fetchHistory();
  const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes);
  const summaries = timers.map((e) => Buffer.from(e.userMetadata?.summary?.data ?? []).toString());
  const parkedTimers = summaries.filter((t) => t.includes('forge rate limit'));
  expect(parkedTimers).toEqual([
    expect.stringContaining('forge rate limit: deliver pull-request: pull request for acme/widgets'),
  ]);
});

test('as a GitHub App: the run branch is pushed with an installation token and the status is a check run', async () => {
  const keys = appKeyPair();
  world.forge.addApp({ appId: 4242, publicKey: keys.publicKey, slug: 'sop-runtime' });
  world.forge.addInstallation(77, 4242, { write: true });
  const p = fixit('fixit-app', {
    deliver: deliverPlan(
      Deliver.parse({
        pull_request: { title: 'Fix #{{ input.issue }}' },
        statuses: { ci: { context: 'sop/fixit', check: true } },
      }),
    ),
  });
  const { error, result } = await runOnForge(ctx, world, p, new ScriptedRunner({ 'fix/agent': [fixTurn] }), {
    forgeEnv: {
      SOP_GITHUB_API_URL: world.forge.url,
      SOP_GITHUB_APP_ID: '4242',
      SOP_GITHUB_APP_PRIVATE_KEY: keys.privateKey,
      SOP_GITHUB_APP_INSTALLATION_ID: '77',
    },
  });
  expect(error).toBeUndefined();
  const pushes = world.forge.calls.filter((c) => c.route.startsWith('git POST git-receive-pack'));
  expect(pushes.length).toBeGreaterThan(0);
  expect(pushes.every((c) => c.identity?.kind === 'installation')).toBe(true);
  const checks = [...world.forge.repo(FULL_NAME).checkRuns.values()];
  expect(checks.map((c) => [c.name, c.status, c.conclusion, c.headSha])).toEqual([
    ['sop/fixit', 'completed', 'success', result?.placement?.head],
  ]);
  expect(checks[0].output.summary).toContain('### Run record `fixit-app/');
  expect(pullsOf(world)[0].user).toBe('sop-runtime[bot]');
});

test('a run whose SOP delivers refuses to start without a forge credential, naming the variable', async () => {
  const p = plan(
    'fixit-nocred',
    [step('fix', { agent: role('Fix the issue.'), routes: [route('done', finish)] })],
    { deliver: deliverPlan(Deliver.parse({ comments: { tell: { issue: '1', body: 'done' } } })) },
  );
  const run = makeWorkspace(p.sop, 'nocred');
  const runner = new ScriptedRunner({ 'fix/agent': [{ route: 'done' }] });
  const message = await withWorker(
    ctx,
    async (taskQueue) => {
      const handle = await ctx.client.workflow.start(p.sop, {
        workflowId: `${p.sop}/${run.taskId}`,
        taskQueue,
        args: [runRequest(p, run)],
      });
      return handle.result().then(
        () => 'completed',
        (e: Error & { cause?: Error }) => e.cause?.message ?? e.message,
      );
    },
    { runners: { codex: runner, claude: runner }, ...servePlans(p), forgeEnv: {} },
  );
  expect(message).toContain(
    'SOP fixit-nocred delivers to GitHub (deliver:), but no GitHub credential: set SOP_GITHUB_TOKEN',
  );
  expect(runner.calls).toHaveLength(0);
});

test("a worklist item's agent asks for labels: the allowed one is added, the other refused and recorded with its item", async () => {
  const p = plan(
    'fixit-items',
    [
      step('plan', {
        agent: role('Plan the items.', ['work']),
        routes: [route('planned', to('triage'), ['work'])],
      }),
      step('triage', {
        forEach: { worklist: 'items', concurrency: 1 },
        agent: role('Triage item {{ item.title }}.'),
        routes: [route('done', { kind: 'advance', exhausted: finish })],
      }),
    ],
    {
      artifacts: [{ name: 'work', kind: 'json', path: '{{ run.folder }}/work.json', required: false }],
      worklists: [
        { name: 'items', from: 'work', collection: 'items', id: 'id', title: 'title', status: 'status' },
      ],
      deliver: deliverPlan(
        Deliver.parse({ agent: { labels: { issue: '{{ input.issue }}', allowed: ['bug', 'docs'] } } }),
      ),
    },
  );
  const runner = new ScriptedRunner({
    'plan/agent': [
      {
        route: 'planned',
        write: {
          '{{ run.folder }}/work.json': {
            items: [
              { id: 'a', title: 'a', status: 'todo' },
              { id: 'b', title: 'b', status: 'todo' },
            ],
          },
        },
      },
    ],
    'triage/a/agent': [{ route: 'done', deliver: { labels: ['bug'] } }],
    'triage/b/agent': [{ route: 'done', deliver: { labels: ['wontfix'] } }],
  });
  const { error, result } = await runOnForge(ctx, world, p, runner);
  expect(error).toBeUndefined();
  expect(world.forge.repo(FULL_NAME).issues.get(world.issue)?.labels).toEqual(['bug']);
  expect(result?.forge?.refused).toEqual([
    {
      step: 'triage',
      item: 'b',
      kind: 'label',
      value: 'wontfix',
      reason: 'not an allowed label (allowed: bug, docs)',
    },
  ]);
});
