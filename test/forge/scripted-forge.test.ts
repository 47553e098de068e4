// The scripted forge itself: GitHub's auth and error shapes, strict fields, scripted faults with GitHub's
// rate-limit headers, a real JWT check, the call record, and git smart-HTTP push to its bare repositories.

import { createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import { SignJWT } from 'jose';
import { forgeFromEnv } from '../../src/forge/github';
import type { ScriptedForge } from '../../src/scripted-forge/server';
import {
  appKeyPair,
  forgeWithRepo,
  git,
  gitAsync,
  REPO,
  RUN_BRANCH,
  type workingRepo,
} from '../support/scripted-forge';

const TOKEN = 'ghp_writeTOKEN000000000000000000000000';
const READ_ONLY = 'ghp_readTOKEN0000000000000000000000000';
const DOCS = 'https://docs.github.com/rest';

let forge: ScriptedForge;
let work: ReturnType<typeof workingRepo>;
let issue: number;

beforeEach(async () => {
  ({ forge, work, issue } = await forgeWithRepo());
  forge.addToken(TOKEN, { login: 'sop-bot' });
  forge.addToken(READ_ONLY, { login: 'reader', write: false });
});

afterEach(async () => {
  await forge.close();
  fs.rmSync(work.dir, { recursive: true, force: true });
});

async function api(
  method: string,
  path: string,
  body?: unknown,
  authorization: string | null = `token ${TOKEN}`,
) {
  const res = await fetch(`${forge.url}${path}`, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      ...(authorization ? { authorization } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  // GitHub's JSON, read field by field in the assertions
  const answer = (await res.json().catch(() => undefined)) as Json;
  return { status: res.status, headers: res.headers, body: answer };
}

// biome-ignore lint/suspicious/noExplicitAny: a JSON answer, asserted with toMatchObject
type Json = any;

const pullsPath = '/repos/acme/widgets/pulls';

describe('auth', () => {
  test("no credential, a wrong token, a read-only token: 401/401/403 in GitHub's shape", async () => {
    expect(await api('GET', pullsPath, undefined, null)).toMatchObject({
      status: 401,
      body: { message: 'Requires authentication', documentation_url: DOCS, status: '401' },
    });
    expect(await api('GET', pullsPath, undefined, 'token ghp_nope')).toMatchObject({
      status: 401,
      body: { message: 'Bad credentials', documentation_url: DOCS },
    });
    expect((await api('GET', pullsPath, undefined, `Bearer ${READ_ONLY}`)).status).toBe(200);
    expect(
      await api('POST', `/repos/acme/widgets/issues/${issue}/comments`, { body: 'x' }, `token ${READ_ONLY}`),
    ).toMatchObject({
      status: 403,
      body: { message: 'Resource not accessible by personal access token' },
    });
    expect(await api('GET', '/repos/acme/nothing/pulls')).toMatchObject({
      status: 404,
      body: { message: 'Not Found' },
    });
  });

  test('check runs need an App installation token', async () => {
    const check = { name: 'sop', head_sha: work.branchSha, status: 'in_progress' };
    expect(await api('POST', '/repos/acme/widgets/check-runs', check)).toMatchObject({
      status: 403,
      body: { message: 'You must authenticate via a GitHub App.' },
    });
    const keys = appKeyPair();
    forge.addApp({ appId: 9, publicKey: keys.publicKey });
    forge.addInstallation(5, 9);
    const jwt = await appJwt(keys.privateKey, 9);
    const exchange = await api('POST', '/app/installations/5/access_tokens', {}, `Bearer ${jwt}`);
    expect(exchange).toMatchObject({ status: 201, body: { token: expect.stringMatching(/^ghs_/) } });
    const installation = `token ${exchange.body.token}`;
    const created = await api('POST', '/repos/acme/widgets/check-runs', check, installation);
    expect(created).toMatchObject({
      status: 201,
      body: { name: 'sop', status: 'in_progress', conclusion: null },
    });
    const incomplete = await api(
      'PATCH',
      `/repos/acme/widgets/check-runs/${created.body.id}`,
      { status: 'completed' },
      installation,
    );
    expect(incomplete).toMatchObject({
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [{ resource: 'CheckRun', field: 'conclusion', code: 'missing_field' }],
      },
    });
    const done = await api(
      'PATCH',
      `/repos/acme/widgets/check-runs/${created.body.id}`,
      { conclusion: 'success', output: { title: 'Passed', summary: 'all gates passed' } },
      installation,
    );
    expect(done).toMatchObject({ status: 200, body: { status: 'completed', conclusion: 'success' } });
    const listed = await api(
      'GET',
      `/repos/acme/widgets/commits/${work.branchSha}/check-runs?check_name=sop`,
    );
    expect(listed.body).toMatchObject({
      total_count: 1,
      check_runs: [{ output: { summary: 'all gates passed' } }],
    });
  });

  test('the installation-token exchange checks the JWT for real', async () => {
    const keys = appKeyPair();
    forge.addApp({ appId: 9, publicKey: keys.publicKey });
    forge.addInstallation(5, 9);
    const exchange = async (jwt: string, id = 5) =>
      api('POST', `/app/installations/${id}/access_tokens`, undefined, `Bearer ${jwt}`);
    const now = Math.floor(Date.now() / 1000);

    expect((await exchange(await appJwt(keys.privateKey, 9))).status).toBe(201);
    expect(await exchange(await appJwt(appKeyPair().privateKey, 9))).toMatchObject({
      status: 401,
      body: { message: 'A JSON web token could not be decoded', documentation_url: DOCS },
    });
    expect(
      (await exchange(await appJwt(keys.privateKey, 9, { iat: now - 700, exp: now - 100 }))).body.message,
    ).toMatch(/^'Expiration time' claim \('exp'\) must be a numeric value/);
    expect(
      (await exchange(await appJwt(keys.privateKey, 9, { iat: now, exp: now + 3600 }))).body.message,
    ).toBe("'Expiration time' claim ('exp') is too far in the future");
    expect(await exchange(await appJwt(keys.privateKey, 10))).toMatchObject({
      status: 401,
      body: { message: 'Integration not found' },
    });
    expect((await exchange(await appJwt(keys.privateKey, 9), 6)).status).toBe(404);
    // a token is not a JWT
    expect((await exchange(TOKEN)).status).toBe(401);
  });
});

describe('reading a review back', () => {
  test("GET a review: its author, association and state; another pull request's, an unknown one or no credential is refused as GitHub does", async () => {
    forge.addToken('ghp_alice', { login: 'alice' });
    const pr = await api('POST', '/repos/acme/widgets/pulls', {
      title: 'Fix',
      head: RUN_BRANCH,
      base: 'main',
    });
    const made = await api(
      'POST',
      `/repos/acme/widgets/pulls/${pr.body.number}/reviews`,
      { event: 'APPROVE' },
      'token ghp_alice',
    );
    const path = `/repos/acme/widgets/pulls/${pr.body.number}/reviews/${made.body.id}`;
    expect(await api('GET', path, undefined, `token ${READ_ONLY}`)).toMatchObject({
      status: 200,
      body: {
        id: made.body.id,
        user: { login: 'alice' },
        state: 'APPROVED',
        author_association: 'COLLABORATOR',
        pull_request_url: `${forge.url}/repos/acme/widgets/pulls/${pr.body.number}`,
      },
    });
    expect(await api('GET', path, undefined, null)).toMatchObject({
      status: 401,
      body: { message: 'Requires authentication', documentation_url: DOCS },
    });
    const notFound = { status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } };
    expect(await api('GET', `/repos/acme/widgets/pulls/${issue}/reviews/${made.body.id}`)).toMatchObject(
      notFound,
    );
    expect(await api('GET', `${path}0`)).toMatchObject(notFound);
    // a comment by a token that may write is a collaborator's
    const comment = await api('POST', `/repos/acme/widgets/issues/${pr.body.number}/comments`, { body: 'x' });
    expect(await api('GET', `/repos/acme/widgets/issues/comments/${comment.body.id}`)).toMatchObject({
      status: 200,
      body: { user: { login: 'sop-bot' }, author_association: 'COLLABORATOR' },
    });
    expect(await api('GET', `/repos/acme/widgets/issues/comments/${comment.body.id + 1000}`)).toMatchObject(
      notFound,
    );
  });
});

describe('strict fields', () => {
  test("a missing or wrong field is a 422 in GitHub's validation shape", async () => {
    expect(await api('POST', pullsPath, { head: RUN_BRANCH, base: 'main' })).toMatchObject({
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [{ resource: 'PullRequest', field: 'title', code: 'missing_field' }],
        documentation_url: DOCS,
      },
    });
    expect(
      (await api('POST', pullsPath, { title: 't', head: RUN_BRANCH, base: 'main', draft: 'yes' })).body,
    ).toMatchObject({
      errors: [{ resource: 'PullRequest', field: 'draft', code: 'invalid' }],
    });
    expect((await api('POST', `/repos/acme/widgets/issues/${issue}/comments`, {})).body).toMatchObject({
      errors: [{ resource: 'IssueComment', field: 'body', code: 'missing_field' }],
    });
    expect(
      (await api('POST', `/repos/acme/widgets/statuses/${work.branchSha}`, { state: 'great' })).body,
    ).toMatchObject({
      errors: [{ resource: 'Status', field: 'state', code: 'invalid' }],
    });
    const broken = await fetch(`${forge.url}${pullsPath}`, {
      method: 'POST',
      headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"title": ',
    });
    expect([broken.status, await broken.json()]).toEqual([
      400,
      { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' },
    ]);
    const long = await api('POST', `/repos/acme/widgets/issues/${issue}/comments`, {
      body: 'x'.repeat(65537),
    });
    expect(long.body.errors[0].message).toBe('Body is too long (maximum is 65536 characters)');
  });

  test('a second open pull request for the same head is refused, as GitHub does', async () => {
    const pr = { title: 't', head: RUN_BRANCH, base: 'main' };
    const first = await api('POST', pullsPath, pr);
    expect(first).toMatchObject({
      status: 201,
      body: {
        number: 2,
        head: { ref: RUN_BRANCH, sha: work.branchSha },
        base: { ref: 'main', sha: work.mainSha },
      },
    });
    expect((await api('POST', pullsPath, pr)).body).toMatchObject({
      errors: [
        {
          resource: 'PullRequest',
          code: 'custom',
          message: `A pull request already exists for acme:${RUN_BRANCH}.`,
        },
      ],
    });
    // `head` filters only as owner:branch, as on GitHub
    expect((await api('GET', `${pullsPath}?head=acme:${RUN_BRANCH}`)).body).toHaveLength(1);
    expect((await api('GET', `${pullsPath}?head=acme:other`)).body).toHaveLength(0);
    expect((await api('GET', `${pullsPath}?head=other`)).body).toHaveLength(1);
  });
});

describe('scripted faults and the record', () => {
  test("a scripted 429 answers with GitHub's rate-limit headers, for the count asked, then the route works", async () => {
    const resetAt = Math.floor(Date.now() / 1000) + 300;
    forge.fail({
      route: 'GET /repos/{owner}/{repo}/pulls',
      status: 429,
      times: 2,
      rateLimit: { resetAt, retryAfter: 60 },
    });
    for (let i = 0; i < 2; i++) {
      const limited = await api('GET', pullsPath);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(limited.headers.get('x-ratelimit-reset')).toBe(String(resetAt));
      expect(limited.headers.get('retry-after')).toBe('60');
      expect(limited.body.documentation_url).toBe(DOCS);
    }
    const ok = await api('GET', pullsPath);
    expect(ok.status).toBe(200);
    expect(Number(ok.headers.get('x-ratelimit-remaining'))).toBeGreaterThan(0);
    expect(forge.calls.map((c) => [c.route, c.status, c.fault ?? false])).toEqual([
      ['GET /repos/{owner}/{repo}/pulls', 429, true],
      ['GET /repos/{owner}/{repo}/pulls', 429, true],
      ['GET /repos/{owner}/{repo}/pulls', 200, false],
    ]);
  });

  test('every call is recorded with its body and who made it, never the token', async () => {
    await api('POST', `/repos/acme/widgets/issues/${issue}/labels`, { labels: ['bug'] });
    await api('DELETE', `/repos/acme/widgets/issues/${issue}/labels/nope`);
    expect(forge.calls).toEqual([
      {
        method: 'POST',
        route: 'POST /repos/{owner}/{repo}/issues/{issue_number}/labels',
        path: `/repos/acme/widgets/issues/${issue}/labels`,
        query: {},
        body: { labels: ['bug'] },
        identity: { kind: 'token', login: 'sop-bot' },
        status: 200,
      },
      expect.objectContaining({ method: 'DELETE', status: 404 }),
    ]);
    expect(JSON.stringify(forge.calls)).not.toContain(TOKEN);
  });
});

describe('git over smart HTTP', () => {
  test("the worker's credential pushes a branch to the forge's bare repository; none or read-only cannot", async () => {
    const github = forgeFromEnv({ SOP_GITHUB_API_URL: forge.url, SOP_GITHUB_TOKEN: TOKEN });
    const remote = github.remoteUrl(REPO);
    expect(remote).toBe(`${forge.url}/acme/widgets.git`);
    git(work.dir, ['commit', '--quiet', '--allow-empty', '-m', 'rework']);
    const rework = git(work.dir, ['rev-parse', 'HEAD']).trim();

    const noCredential = gitAsync(work.dir, ['push', remote, RUN_BRANCH], { GIT_TERMINAL_PROMPT: '0' });
    await expect(noCredential).rejects.toThrow(/could not read Username|Authentication failed/);
    const reader = forgeFromEnv({ SOP_GITHUB_API_URL: forge.url, SOP_GITHUB_TOKEN: READ_ONLY });
    const readOnly = await reader.gitAuthEnv();
    await expect(gitAsync(work.dir, ['push', remote, RUN_BRANCH], readOnly)).rejects.toThrow(/403/);

    const env = await github.gitAuthEnv();
    await gitAsync(work.dir, ['push', '--quiet', remote, RUN_BRANCH], env);
    expect(git(forge.repo('acme/widgets').dir, ['rev-parse', RUN_BRANCH]).trim()).toBe(rework);
    // the pull request's head follows the push
    const pr = await github.ensurePullRequest(REPO, {
      key: 'k',
      head: RUN_BRANCH,
      base: 'main',
      title: 't',
      body: 'b',
    });
    expect(pr.headSha).toBe(rework);
    // and the branch can be fetched back
    const fetched = await gitAsync(work.dir, ['ls-remote', remote, RUN_BRANCH], env);
    expect(fetched).toContain(rework);
    const gitCalls = forge.calls.filter((c) => c.route.startsWith('git '));
    expect(gitCalls.map((c) => [c.route, c.query.service, c.status, c.identity?.login])).toEqual([
      ['git GET info/refs', 'git-receive-pack', 401, undefined],
      ['git GET info/refs', 'git-receive-pack', 403, 'reader'],
      ['git GET info/refs', 'git-receive-pack', 200, 'sop-bot'],
      ['git POST git-receive-pack', undefined, 200, 'sop-bot'],
      ['git GET info/refs', 'git-upload-pack', 200, 'sop-bot'],
    ]);
  });

  test('an App pushes with an installation token', async () => {
    const keys = appKeyPair();
    forge.addApp({ appId: 3, publicKey: keys.publicKey });
    forge.addInstallation(8, 3);
    const app = forgeFromEnv({
      SOP_GITHUB_API_URL: forge.url,
      SOP_GITHUB_APP_ID: '3',
      SOP_GITHUB_APP_PRIVATE_KEY: keys.privateKey,
      SOP_GITHUB_APP_INSTALLATION_ID: '8',
    });
    git(work.dir, ['checkout', '--quiet', '-b', 'sop/bugfix/issue-8']);
    await gitAsync(
      work.dir,
      ['push', '--quiet', app.remoteUrl(REPO), 'sop/bugfix/issue-8'],
      await app.gitAuthEnv(),
    );
    expect(git(forge.repo('acme/widgets').dir, ['branch', '--list']).trim().split(/\s+/)).toContain(
      'sop/bugfix/issue-8',
    );
    const push = forge.calls.find((c) => c.route === 'git POST git-receive-pack');
    expect(push?.identity).toEqual({
      kind: 'installation',
      login: 'app-3[bot]',
      appId: 3,
      installationId: 8,
    });
  });
});

async function appJwt(privateKey: string, appId: number, times?: { iat: number; exp: number }) {
  const now = Math.floor(Date.now() / 1000);
  const { iat, exp } = times ?? { iat: now - 30, exp: now + 540 };
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer(String(appId))
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(createPrivateKey(privateKey));
}
