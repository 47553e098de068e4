import * as path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { loadHooks } from '../../src/serve/hooks';
import { buildIngress, type StartedRun } from '../../src/serve/ingress';
import { followUpStart } from '../../src/serve/review-router';
import { reviewRouting, runOfBranch, runOfMarker } from '../../src/serve/reviews';
import { type ForgeReview, reviewerRefusal } from '../../src/shapes/forge-review';
import type { RunRequest } from '../../src/shapes/run-request';
import { compileSopDir } from '../../src/sop/compile';
import { eventGraphDiagnostics, graphSop } from '../../src/sop/event-graph';
import { planFromBundle } from '../../src/sop/plan-from-bundle';
import { catalogProject } from '../support/sop-project';

// The GitHub App's one endpoint (POST /hooks/github): a delivery fans out to every trigger whose filter
// matches, across SOPs, each run deduplicated per trigger and delivery; review events map to the signal for
// the run owning the pull request's branch. In process: the ingress with a start that records what it did.

const SECRET = 'app-secret';

const sop = (
  name: string,
  trigger: string,
  filter: string,
  secretEnv = 'SOP_GITHUB_WEBHOOK_SECRET',
) => `name: ${name}
input:
  request: { type: string }
triggers:
  ${trigger}:
    webhook:
      name: github
      secret_env: ${secretEnv}
      filter: ${filter}
    input: { request: "{{ payload.issue.title }}" }
steps:
  work:
    prompt: prompts/work.md
    routes:
      done: finish
`;

const catalog = () =>
  catalogProject('sop-github-hook-', {
    triage: sop('triage', 'bugs', '{ event: issues, action: labeled, labels: [bug] }'),
    bugfix: sop('bugfix', 'fix_bugs', '{ event: issues, labels: [bug] }'),
    docs: sop('docs', 'doc_issues', '{ event: issues, labels: [docs] }'),
  });

/** A start like SopClient.startOnce: a task id started once. */
function recordingStart() {
  const started = new Map<string, RunRequest & { task: string }>();
  const start = async (request: RunRequest & { task: string }): Promise<StartedRun> => {
    const workflowId = `${request.sop}/${request.task}`;
    const first = !started.has(workflowId);
    if (first) started.set(workflowId, request);
    return { started: first, workflowId, runId: `run-of-${workflowId}` };
  };
  return { started, start };
}

const labeled = JSON.stringify({
  action: 'labeled',
  label: { name: 'bug' },
  issue: { number: 7, title: 'Login fails', labels: [{ name: 'bug' }] },
});

async function post(app: ReturnType<typeof buildIngress>, body: string, headers: Record<string, string>) {
  const address = app.server.listening ? undefined : await app.listen({ port: 0, host: '127.0.0.1' });
  const base = address ?? `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const res = await fetch(`${base}/hooks/github`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'issues', ...headers },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('one delivery to /hooks/github starts a run of every SOP whose trigger matches; its redelivery starts none', async () => {
  const { hooks, problems } = loadHooks({ projectDir: catalog() });
  expect(problems).toEqual([]);
  expect(
    hooks
      .get('github')
      ?.triggers.map((t) => `${t.sop}.${t.trigger}`)
      .sort(),
  ).toEqual(['bugfix.fix_bugs', 'docs.doc_issues', 'triage.bugs']);
  const { started, start } = recordingStart();
  const app = buildIngress({ hooks, start, env: { SOP_GITHUB_WEBHOOK_SECRET: SECRET } });
  const headers = { 'x-github-delivery': 'd-1', 'x-hub-signature-256': await sign(SECRET, labeled) };
  const first = await post(app, labeled, headers);
  expect(first.status).toBe(202);
  expect(first.json.status).toBe('started');
  expect([...started.keys()].sort()).toEqual(['bugfix/fix_bugs-d-1', 'triage/bugs-d-1']);
  expect(started.get('triage/bugs-d-1')?.input).toEqual({ request: 'Login fails' });
  expect(first.json.ignored).toEqual([
    { sop: 'docs', trigger: 'doc_issues', reason: 'labels [bug] include none of docs' },
  ]);
  const again = await post(app, labeled, headers);
  expect(again.status).toBe(200);
  expect(again.json.status).toBe('duplicate');
  expect((again.json.runs as { status: string }[]).map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
  expect(started.size).toBe(2);
  await app.close();
});

test('a bad signature on /hooks/github is refused with 401 naming the header and the secret variable; nothing starts', async () => {
  const { hooks } = loadHooks({ projectDir: catalog() });
  const { started, start } = recordingStart();
  const app = buildIngress({ hooks, start, env: { SOP_GITHUB_WEBHOOK_SECRET: SECRET } });
  const wrong = await post(app, labeled, {
    'x-github-delivery': 'd-2',
    'x-hub-signature-256': await sign('not the secret', labeled),
  });
  expect(wrong.status).toBe(401);
  expect(wrong.json.error).toBe(
    'wrong signature: x-hub-signature-256 must be sha256=<hex> of the HMAC-SHA256 of the exact body under the secret in SOP_GITHUB_WEBHOOK_SECRET; nothing was started',
  );
  const missing = await post(app, labeled, { 'x-github-delivery': 'd-3' });
  expect(missing.status).toBe(401);
  expect(String(missing.json.error)).toMatch(/^missing signature/);
  expect(started.size).toBe(0);
  await app.close();
});

test('SOP236 gives way for the shared hook github (one secret), and still refuses two secrets or another shared name', () => {
  const root = catalogProject('sop-github-236-', {
    a: sop('a', 'one', '{ event: issues }'),
    b: sop('b', 'two', '{ event: issues }'),
    c: sop('c', 'three', '{ event: issues }', 'OTHER_SECRET'),
    d: sop('d', 'four', '{ event: issues }').replace('name: github', 'name: issues-hook'),
    e: sop('e', 'five', '{ event: issues }').replace('name: github', 'name: issues-hook'),
  });
  const graph = ['a', 'b', 'c', 'd', 'e'].map((name) => {
    const dir = path.join(root, 'sops', name);
    const compiled = compileSopDir(dir, { relativeTo: root });
    if (!compiled.bundle) throw new Error(`${name}: ${JSON.stringify(compiled.diagnostics)}`);
    return graphSop(compiled.bundle.definition, dir, root);
  });
  const messages = eventGraphDiagnostics(graph)
    .filter((d) => d.code === 'SOP236')
    .map((d) => d.message);
  expect(messages).toEqual([
    'webhook "github" is verified with one secret, but a.triggers.one reads it from SOP_GITHUB_WEBHOOK_SECRET and c.triggers.three from OTHER_SECRET',
    'webhook "issues-hook" is declared by d.triggers.four and by e.triggers.five',
  ]);
  const { hooks, problems } = loadHooks({ projectDir: root });
  expect(hooks.get('github')?.triggers.map((t) => t.sop)).toEqual(['a', 'b']);
  expect(problems).toEqual(
    expect.arrayContaining([expect.stringContaining('c.three is not served (use one secret_env)')]),
  );
});

const reviewPayload = (state: string, ref = 'sop/bugfix/issue-7', association = 'MEMBER') => ({
  action: 'submitted',
  review: {
    id: 55,
    state,
    body: state === 'approved' ? null : 'Handle the empty password too.',
    user: { login: 'alice' },
    author_association: association,
    html_url: 'https://github.com/acme/widgets/pull/12#pullrequestreview-55',
  },
  pull_request: { number: 12, head: { ref }, body: 'Fixes #7' },
  repository: { name: 'widgets', owner: { login: 'acme' } },
});

test('review events map to the forgeReview signal of the run owning the branch: who, what, the review body', () => {
  expect(reviewRouting('pull_request_review', 'd-9', reviewPayload('changes_requested'))).toEqual({
    sop: 'bugfix',
    task: 'issue-7',
    workflowId: 'bugfix/issue-7',
    review: {
      delivery: 'd-9',
      event: 'pull_request_review',
      kind: 'changes_requested',
      by: 'alice',
      association: 'MEMBER',
      body: 'Handle the empty password too.',
      repo: { owner: 'acme', repo: 'widgets' },
      pullRequest: 12,
      reviewId: 55,
      url: 'https://github.com/acme/widgets/pull/12#pullrequestreview-55',
    },
  });
  const approved = reviewRouting('pull_request_review', 'd-10', reviewPayload('approved'));
  expect(approved && 'review' in approved && approved.review).toMatchObject({ kind: 'approved', body: '' });
  expect(reviewRouting('pull_request_review', 'd-11', reviewPayload('dismissed'))).toEqual({
    ignored: 'a review in state dismissed',
  });
  expect(reviewRouting('pull_request_review', 'd-12', reviewPayload('approved', 'feature/login'))).toEqual({
    ignored: "pull request #12 (branch feature/login) is not a run's",
  });
  expect(reviewRouting('issues', 'd-13', {})).toBeUndefined();
  expect(reviewRouting('pull_request_review_comment', 'd-14', {})).toEqual({
    ignored: expect.stringContaining('with its review'),
  });
});

test("a /sop rework comment on a run's pull request (found by its marker) is a rework; other comments are not", () => {
  const comment = (body: string, pull = true) => ({
    action: 'created',
    issue: {
      number: 12,
      body: 'The fix.\n\n<!-- sop:bugfix/issue-7/pull-request -->',
      ...(pull ? { pull_request: { url: 'x' } } : {}),
    },
    comment: {
      id: 77,
      body,
      user: { login: 'bob' },
      author_association: 'CONTRIBUTOR',
      html_url: 'https://c',
    },
    repository: { name: 'widgets', owner: { login: 'acme' } },
  });
  const routed = reviewRouting('issue_comment', 'd-20', comment('/sop rework use a constant-time compare'));
  expect(routed).toMatchObject({
    workflowId: 'bugfix/issue-7',
    // the comment's id: the run confirms the comment with the forge by it
    review: {
      kind: 'rework',
      by: 'bob',
      association: 'CONTRIBUTOR',
      body: 'use a constant-time compare',
      commentId: 77,
    },
  });
  expect(reviewRouting('issue_comment', 'd-21', comment('looks good'))).toEqual({
    ignored: 'a comment without a /sop rework command',
  });
  expect(reviewRouting('issue_comment', 'd-22', comment('/sop rework x', false))).toEqual({
    ignored: '#12 is an issue, not a pull request',
  });
  expect(runOfBranch('sop/bugfix/triage-2026-01-01T03-00-00Z')).toEqual({
    sop: 'bugfix',
    task: 'triage-2026-01-01T03-00-00Z',
  });
  expect(runOfBranch('sop/bugfix/x--item-1/extra')).toBeUndefined();
  expect(runOfMarker('no marker')).toBeUndefined();
});

test("who may decide: the gate's allow list, or else the repository's owners, members and collaborators", () => {
  const review = (by: string, association?: string) =>
    ({ by, association, kind: 'rework' }) as unknown as ForgeReview;
  expect(reviewerRefusal(['alice'], review('alice', 'NONE'))).toBeUndefined();
  expect(reviewerRefusal(['alice'], review('mallory', 'OWNER'))).toBe(
    'mallory is not among the reviewers this gate allows (alice)',
  );
  expect(reviewerRefusal(undefined, review('carol', 'COLLABORATOR'))).toBeUndefined();
  expect(reviewerRefusal(undefined, review('mallory', 'CONTRIBUTOR'))).toBe(
    'mallory is CONTRIBUTOR of the repository; without allow: only its owners, members and collaborators count',
  );
});

test("a finished run's pull request sent back starts a follow-up at its review gate, unless the gate refuses the reviewer", () => {
  const root = catalogProject('sop-follow-up-', {
    gated: `name: gated
input:
  request: { type: string }
steps:
  fix:
    prompt: prompts/work.md
    routes:
      done: review
  review:
    question: "Review the fix for {{ input.request }}"
    review: { allow: [alice] }
    routes:
      approved: finish
      rejected: fix
`,
  });
  const compiled = compileSopDir(path.join(root, 'sops', 'gated'), { relativeTo: root });
  expect(compiled.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const plan = planFromBundle(compiled.bundle!);
  const review = {
    delivery: 'd-30',
    event: 'pull_request_review',
    kind: 'changes_requested',
    by: 'alice',
    body: 'Also the logout page.',
    repo: { owner: 'acme', repo: 'widgets' },
    pullRequest: 12,
  } as ForgeReview;
  expect(followUpStart(plan, review)).toEqual({ step: 'review' });
  expect(followUpStart(plan, { ...review, by: 'mallory' })).toEqual({
    refused: 'mallory is not among the reviewers this gate allows (alice)',
  });
});
