// The GitHub adapter (real Octokit) against the scripted forge: writes are found and updated, never repeated;
// refusals carry GitHub's message; rate limits carry the reset; App auth exchanges a real JWT.

import * as fs from 'node:fs';
import { ForgeError, ForgeRateLimitError } from '../../src/forge/errors';
import { deliveryKey, type Forge } from '../../src/forge/forge';
import { forgeFromEnv } from '../../src/forge/github';
import { type ScriptedForge, startScriptedForge } from '../../src/scripted-forge/server';
import { RateLimitError } from '../../src/shapes/rate-limit';
import { appKeyPair, forgeWithRepo, REPO, RUN_BRANCH, type workingRepo } from '../support/scripted-forge';

const TOKEN = 'ghp_canaryTOKEN0123456789abcdefghijkl';
const KEY = deliveryKey('bugfix/issue-7', 'pull-request');

let forge: ScriptedForge;
let work: ReturnType<typeof workingRepo>;
let issue: number;
let github: Forge;

beforeEach(async () => {
  ({ forge, work, issue } = await forgeWithRepo());
  forge.addToken(TOKEN, { login: 'sop-bot' });
  github = forgeFromEnv({ SOP_GITHUB_API_URL: forge.url, SOP_GITHUB_TOKEN: TOKEN });
});

afterEach(async () => {
  await forge.close();
  fs.rmSync(work.dir, { recursive: true, force: true });
});

const pulls = () => [...forge.repo('acme/widgets').issues.values()].filter((i) => i.pull);
const comments = () => [...forge.repo('acme/widgets').comments.values()];
const spec = { key: KEY, head: RUN_BRANCH, base: 'main', title: 'Fix Mondays', body: 'The fix.' };

describe('ensurePullRequest', () => {
  test('opens the pull request once; a second call with the same key updates it, never a second one', async () => {
    const first = await github.ensurePullRequest(REPO, spec);
    expect(first).toMatchObject({ action: 'created', headSha: work.branchSha });
    expect(first.url).toBe(`${forge.url}/acme/widgets/pull/${first.number}`);

    const second = await github.ensurePullRequest(REPO, {
      ...spec,
      title: 'Fix Mondays (rework)',
      body: 'Round 2.',
    });
    expect(second).toMatchObject({ number: first.number, action: 'updated' });
    const again = await github.ensurePullRequest(REPO, {
      ...spec,
      title: 'Fix Mondays (rework)',
      body: 'Round 2.',
    });
    expect(again.action).toBe('unchanged');

    expect(pulls()).toHaveLength(1);
    expect(pulls()[0]).toMatchObject({
      title: 'Fix Mondays (rework)',
      body: `Round 2.\n\n<!-- sop:${KEY} -->`,
    });
    expect(forge.calls.filter((c) => c.route === 'POST /repos/{owner}/{repo}/pulls')).toHaveLength(1);
    expect(forge.calls.find((c) => c.route === 'POST /repos/{owner}/{repo}/pulls')?.identity).toEqual({
      kind: 'token',
      login: 'sop-bot',
    });
  });

  test('an answer lost after GitHub acted (a killed worker, a retried activity): the retry finds it, one pull request and one comment', async () => {
    forge.fail({ route: 'POST /repos/{owner}/{repo}/pulls', status: 502, when: 'after' });
    const lost = await github.ensurePullRequest(REPO, spec).catch((e) => e);
    expect(lost).toBeInstanceOf(ForgeError);
    expect(lost.retryable).toBe(true);
    expect(pulls()).toHaveLength(1);
    const retried = await github.ensurePullRequest(REPO, spec);
    expect(retried).toMatchObject({ number: pulls()[0].number, action: 'unchanged' });

    const comment = { key: deliveryKey('bugfix/issue-7', 'summary'), issue, body: 'Fixed in the PR.' };
    forge.fail({
      route: 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
      status: 500,
      when: 'after',
    });
    await expect(github.upsertComment(REPO, comment)).rejects.toThrow('GitHub answered 500');
    expect(await github.upsertComment(REPO, comment)).toMatchObject({ action: 'unchanged' });
    expect(comments()).toHaveLength(1);
    expect(forge.calls.filter((c) => c.method === 'POST').map((c) => [c.route, c.status])).toEqual([
      ['POST /repos/{owner}/{repo}/pulls', 502],
      ['POST /repos/{owner}/{repo}/issues/{issue_number}/comments', 500],
    ]);
  });

  test('reviewers are asked once; the author cannot be asked (422 with the forge message)', async () => {
    const first = await github.ensurePullRequest(REPO, { ...spec, reviewers: ['alice'] });
    expect(first.action).toBe('created');
    expect(await github.ensurePullRequest(REPO, { ...spec, reviewers: ['alice'] })).toMatchObject({
      action: 'unchanged',
    });
    expect(await github.ensurePullRequest(REPO, { ...spec, reviewers: ['alice', 'bob'] })).toMatchObject({
      action: 'updated',
    });
    const asks = forge.calls.filter((c) => c.route.endsWith('/requested_reviewers'));
    expect(asks.map((c) => c.body)).toEqual([{ reviewers: ['alice'] }, { reviewers: ['bob'] }]);
    expect(pulls()[0].pull?.requestedReviewers).toEqual(['alice', 'bob']);
    const err = await github.ensurePullRequest(REPO, { ...spec, reviewers: ['sop-bot'] }).catch((e) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err.message).toContain(
      'GitHub answered 422: Review cannot be requested from pull request author.',
    );
  });

  test('a closed pull request of the same delivery is reopened, not duplicated', async () => {
    const first = await github.ensurePullRequest(REPO, spec);
    const pull = forge.repo('acme/widgets').issues.get(first.number)?.pull;
    if (pull) pull.state = 'closed';
    const second = await github.ensurePullRequest(REPO, spec);
    expect(second).toMatchObject({ number: first.number, action: 'reopened' });
    expect(pulls()).toHaveLength(1);
    expect(pulls()[0].pull?.state).toBe('open');
  });

  test('a 422 fails with the forge message (no such head branch)', async () => {
    const err = await github
      .ensurePullRequest(REPO, { ...spec, head: 'sop/bugfix/never-pushed' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err.status).toBe(422);
    expect(err.message).toBe(
      'pull request for acme/widgets:sop/bugfix/never-pushed: GitHub answered 422: Validation Failed; PullRequest head invalid (the forge refused the request as invalid)',
    );
    expect(pulls()).toHaveLength(0);
  });
});

describe('upsertComment', () => {
  test('finds its comment by the hidden marker and updates it; another key gets its own', async () => {
    forge.state.repo('acme', 'widgets')?.comments.set(1, {
      id: 1,
      issue,
      body: 'a person said something',
      user: 'octocat',
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
    });
    const key = deliveryKey('bugfix/issue-7', 'progress');
    const first = await github.upsertComment(REPO, { key, issue, body: 'Run started.' });
    const second = await github.upsertComment(REPO, { key, issue, body: 'Run finished.' });
    const third = await github.upsertComment(REPO, { key, issue, body: 'Run finished.' });
    expect([first.action, second.action, third.action]).toEqual(['created', 'updated', 'unchanged']);
    expect(second.id).toBe(first.id);
    const other = await github.upsertComment(REPO, { key: `${key}-2`, issue, body: 'Another delivery.' });
    expect(other.action).toBe('created');

    expect(comments().map((c) => c.body)).toEqual([
      'a person said something',
      `Run finished.\n\n<!-- sop:${key} -->`,
      `Another delivery.\n\n<!-- sop:${key}-2 -->`,
    ]);
  });

  test('finds its comment past the first page of comments', async () => {
    const repo = forge.repo('acme/widgets');
    for (let i = 0; i < 130; i++) {
      const id = forge.state.id();
      const stamp = '2026-01-01T00:00:00Z';
      repo.comments.set(id, {
        id,
        issue,
        body: `noise ${i}`,
        user: 'octocat',
        createdAt: stamp,
        updatedAt: stamp,
      });
    }
    const key = deliveryKey('bugfix/issue-7', 'summary');
    await github.upsertComment(REPO, { key, issue, body: 'one' });
    await github.upsertComment(REPO, { key, issue, body: 'two' });
    expect(comments().filter((c) => c.body.includes(key))).toHaveLength(1);
  });

  test('a comment on an issue that does not exist fails with 404 and what to check', async () => {
    const err = await github.upsertComment(REPO, { key: KEY, issue: 99, body: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err.message).toBe(
      'comment on acme/widgets#99: GitHub answered 404: Not Found (the repository, issue or pull request does not exist, or the credential cannot see it)',
    );
  });
});

describe('reading a review and a comment back', () => {
  test("the forge's own record of a review and a comment: author, association, state, pull request; none is undefined", async () => {
    forge.addToken('ghp_alice', { login: 'alice' });
    const pr = await github.ensurePullRequest(REPO, spec);
    const post = async (path: string, body: object) => {
      const res = await fetch(`${forge.url}/repos/acme/widgets${path}`, {
        method: 'POST',
        headers: { authorization: 'token ghp_alice', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await res.json()) as { id: number };
    };
    const review = await post(`/pulls/${pr.number}/reviews`, { event: 'REQUEST_CHANGES', body: 'Not yet.' });
    const comment = await post(`/issues/${pr.number}/comments`, { body: '/sop rework add a test' });

    expect(await github.review(REPO, pr.number, review.id)).toEqual({
      by: 'alice',
      association: 'COLLABORATOR',
      pullRequest: pr.number,
      body: 'Not yet.',
      url: `${forge.url}/acme/widgets/pull/${pr.number}#pullrequestreview-${review.id}`,
      state: 'CHANGES_REQUESTED',
    });
    expect(await github.issueComment(REPO, comment.id)).toMatchObject({
      by: 'alice',
      association: 'COLLABORATOR',
      pullRequest: pr.number,
      body: '/sop rework add a test',
    });
    // no such review, a review asked for on another pull request (#issue), no such comment: GitHub's 404
    expect(await github.review(REPO, pr.number, review.id + 1000)).toBeUndefined();
    expect(await github.review(REPO, issue, review.id)).toBeUndefined();
    expect(await github.issueComment(REPO, comment.id + 1000)).toBeUndefined();
    expect(
      forge.calls
        .filter((c) => c.route === 'GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}')
        .map((c) => c.status),
    ).toEqual([200, 404, 404]);
  });

  test('a refused credential is an error, not "no such review"', async () => {
    const stranger = forgeFromEnv({ SOP_GITHUB_API_URL: forge.url, SOP_GITHUB_TOKEN: 'ghp_unknown' });
    const err = await stranger.review(REPO, 1, 1).catch((e) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err.status).toBe(401);
  });
});

describe('labels and statuses', () => {
  test('labels are added, removed (twice is no error) and set', async () => {
    expect(await github.addLabels(REPO, issue, ['bug', 'sop:running'])).toEqual(['bug', 'sop:running']);
    expect(await github.addLabels(REPO, issue, ['bug'])).toEqual(['bug', 'sop:running']);
    expect(await github.removeLabels(REPO, issue, ['sop:running'])).toEqual(['bug']);
    expect(await github.removeLabels(REPO, issue, ['sop:running'])).toEqual(['bug']);
    expect(await github.setLabels(REPO, issue, ['sop:done'])).toEqual(['sop:done']);
    expect(forge.repo('acme/widgets').issues.get(issue)?.labels).toEqual(['sop:done']);
  });

  test('a status is set by context: the same status again writes nothing, a new state writes once', async () => {
    const status = {
      sha: work.branchSha,
      context: 'sop/bugfix',
      state: 'pending' as const,
      description: 'running',
    };
    expect(await github.setStatus(REPO, status)).toEqual({ action: 'created' });
    expect(await github.setStatus(REPO, status)).toEqual({ action: 'unchanged' });
    expect(await github.setStatus(REPO, { ...status, state: 'success', description: 'passed' })).toEqual({
      action: 'created',
    });
    await github.setStatus(REPO, { ...status, context: 'sop/other' });
    const statuses = forge.repo('acme/widgets').statuses;
    expect(statuses.map((s) => [s.context, s.state])).toEqual([
      ['sop/bugfix', 'pending'],
      ['sop/bugfix', 'success'],
      ['sop/other', 'pending'],
    ]);
  });

  test('a status on a commit the forge does not have fails with its message', async () => {
    const sha = 'f'.repeat(40);
    const err = await github.setStatus(REPO, { sha, context: 'sop', state: 'success' }).catch((e) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err.message).toContain(`GitHub answered 422: No commit found for SHA: ${sha}`);
  });
});

describe('refusals', () => {
  test.each([429, 403] as const)(
    'a %i rate limit is a ForgeRateLimitError carrying the reset time',
    async (status) => {
      const resetAt = Math.floor(Date.now() / 1000) + 120;
      forge.fail({
        route: 'POST /repos/{owner}/{repo}/issues/{issue_number}/labels',
        status,
        rateLimit: { resetAt },
      });
      const err = await github.addLabels(REPO, issue, ['bug']).catch((e) => e);
      expect(err).toBeInstanceOf(ForgeRateLimitError);
      expect(err).toBeInstanceOf(RateLimitError);
      expect(err.resetAtMs).toBe(resetAt * 1000);
      expect(err.message).toContain(`is rate limiting (${status}: API rate limit exceeded for sop-bot.)`);
      // the fault answered once: the next call goes through
      expect(await github.addLabels(REPO, issue, ['bug'])).toEqual(['bug']);
    },
  );

  test('a secondary rate limit (Retry-After) resets after its seconds', async () => {
    forge.fail({
      route: 'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
      status: 403,
      rateLimit: { retryAfter: 30 },
    });
    const before = Date.now();
    const err = await github.upsertComment(REPO, { key: KEY, issue, body: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(ForgeRateLimitError);
    expect(err.resetAtMs).toBeGreaterThanOrEqual(before + 30_000);
    expect(err.resetAtMs).toBeLessThan(Date.now() + 31_000);
    expect(err.message).toContain('secondary rate limit');
  });

  test('a 403 without rate-limit headers is a refusal naming the permission to grant', async () => {
    forge.fail({ route: 'POST /repos/{owner}/{repo}/statuses/{sha}', status: 403 });
    const err = await github
      .setStatus(REPO, { sha: work.branchSha, context: 'sop', state: 'success' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err).not.toBeInstanceOf(ForgeRateLimitError);
    expect(err.message).toContain('GitHub answered 403: Resource not accessible by integration');
    expect(err.message).toContain('write access to pull requests, issues, commit statuses and contents');
  });

  test('a wrong token is refused with 401 and the token never appears in the error', async () => {
    const wrong = 'ghp_wrongTOKENabcdefabcdefabcdefabcdef';
    const bad = forgeFromEnv({ SOP_GITHUB_API_URL: forge.url, SOP_GITHUB_TOKEN: wrong });
    const err = await bad.ensurePullRequest(REPO, spec).catch((e) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err.message).toContain('GitHub answered 401: Bad credentials (the credential was refused');
    const everything = `${err.message} ${err.stack} ${JSON.stringify(err)} ${JSON.stringify(Object.entries(err))}`;
    expect(everything).not.toContain(wrong);
    expect(forge.calls.at(-1)).toMatchObject({ status: 401 });
    expect(JSON.stringify(forge.calls)).not.toContain(wrong);
  });

  test('a forge that cannot be reached is a retryable ForgeError', async () => {
    const closed = await startScriptedForge();
    const url = closed.url;
    await closed.close();
    const gone = forgeFromEnv({ SOP_GITHUB_API_URL: url, SOP_GITHUB_TOKEN: TOKEN });
    const err = await gone.addLabels(REPO, issue, ['bug']).catch((e) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(
      `labels of acme/widgets#${issue}: GitHub could not be reached: fetch failed: ECONNREFUSED`,
    );
    expect(`${err.message} ${err.stack}`).not.toContain(TOKEN);
  });

  test('a 422 and a rate limit do not carry the token either', async () => {
    forge.fail({
      route: 'POST /repos/{owner}/{repo}/pulls',
      status: 422,
      message: 'head sha can not be blank',
    });
    const refused = await github.ensurePullRequest(REPO, spec).catch((e) => e);
    expect(refused.message).toContain('GitHub answered 422: Validation Failed; head sha can not be blank');
    forge.fail({ route: 'GET /repos/{owner}/{repo}/pulls', status: 429 });
    const limited = await github.ensurePullRequest(REPO, spec).catch((e) => e);
    expect(limited).toBeInstanceOf(ForgeRateLimitError);
    for (const err of [refused, limited]) {
      expect(`${err.message} ${err.stack} ${JSON.stringify(err)}`).not.toContain(TOKEN);
    }
  });
});

describe('as a GitHub App', () => {
  const APP_ID = 4242;
  const INSTALLATION = 77;

  test('an installation token is exchanged with a valid JWT and used for the writes', async () => {
    const keys = appKeyPair();
    forge.addApp({ appId: APP_ID, publicKey: keys.publicKey, slug: 'sop-runtime' });
    forge.addInstallation(INSTALLATION, APP_ID);
    const app = forgeFromEnv({
      SOP_GITHUB_API_URL: forge.url,
      SOP_GITHUB_APP_ID: String(APP_ID),
      SOP_GITHUB_APP_PRIVATE_KEY: keys.privateKey.replace(/\n/g, '\\n'),
      SOP_GITHUB_APP_INSTALLATION_ID: String(INSTALLATION),
    });
    const pr = await app.ensurePullRequest(REPO, spec);
    await app.upsertComment(REPO, { key: KEY, issue: pr.number, body: 'evidence' });

    const exchanges = forge.calls.filter(
      (c) => c.route === 'POST /app/installations/{installation_id}/access_tokens',
    );
    expect(exchanges).toEqual([
      expect.objectContaining({
        status: 201,
        identity: { kind: 'app', login: 'sop-runtime[bot]', appId: APP_ID },
      }),
    ]);
    const writes = forge.calls.filter((c) => c.method !== 'GET' && !c.route.startsWith('POST /app/'));
    expect(writes.map((c) => [c.route, c.status, c.identity?.kind, c.identity?.installationId])).toEqual([
      ['POST /repos/{owner}/{repo}/pulls', 201, 'installation', INSTALLATION],
      ['POST /repos/{owner}/{repo}/issues/{issue_number}/comments', 201, 'installation', INSTALLATION],
    ]);
    expect(pulls()[0].pull?.createdBy).toBe('sop-runtime[bot]');
  });

  test('a check run is found by its key on the commit and updated; a token (not an App) is refused', async () => {
    const keys = appKeyPair();
    forge.addApp({ appId: APP_ID, publicKey: keys.publicKey });
    forge.addInstallation(INSTALLATION, APP_ID);
    const app = forgeFromEnv({
      SOP_GITHUB_API_URL: forge.url,
      SOP_GITHUB_APP_ID: String(APP_ID),
      SOP_GITHUB_APP_PRIVATE_KEY: keys.privateKey,
      SOP_GITHUB_APP_INSTALLATION_ID: String(INSTALLATION),
    });
    const check = { key: deliveryKey('bugfix/issue-7', 'check'), sha: work.branchSha, name: 'sop/bugfix' };
    const running = { ...check, title: 'Running', summary: 'step fix' };
    expect(await app.ensureCheckRun(REPO, running)).toMatchObject({ action: 'created' });
    expect(await app.ensureCheckRun(REPO, running)).toMatchObject({ action: 'unchanged' });
    const done = { ...check, title: 'Passed', summary: 'all gates passed', conclusion: 'success' as const };
    expect(await app.ensureCheckRun(REPO, done)).toMatchObject({ action: 'updated' });
    expect(await app.ensureCheckRun(REPO, done)).toMatchObject({ action: 'unchanged' });
    const runs = [...forge.repo('acme/widgets').checkRuns.values()];
    expect(runs.map((r) => [r.name, r.status, r.conclusion, r.externalId, r.output.summary])).toEqual([
      ['sop/bugfix', 'completed', 'success', check.key, 'all gates passed'],
    ]);

    const err = await github.ensureCheckRun(REPO, { ...running, key: 'other' }).catch((e) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err.message).toContain('GitHub answered 403: You must authenticate via a GitHub App.');
  });

  test("a JWT signed with another key is refused with 401 in GitHub's shape", async () => {
    forge.addApp({ appId: APP_ID, publicKey: appKeyPair().publicKey });
    forge.addInstallation(INSTALLATION, APP_ID);
    const stranger = appKeyPair();
    const app = forgeFromEnv({
      SOP_GITHUB_API_URL: forge.url,
      SOP_GITHUB_APP_ID: String(APP_ID),
      SOP_GITHUB_APP_PRIVATE_KEY: stranger.privateKey,
      SOP_GITHUB_APP_INSTALLATION_ID: String(INSTALLATION),
    });
    const err = await app.ensurePullRequest(REPO, spec).catch((e) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err.status).toBe(401);
    expect(err.message).toContain('GitHub answered 401: A JSON web token could not be decoded');
    expect(err.message).not.toContain('PRIVATE KEY');
    expect(forge.calls.map((c) => [c.route, c.status])).toEqual([
      ['POST /app/installations/{installation_id}/access_tokens', 401],
    ]);
    expect(pulls()).toHaveLength(0);
  });
});
