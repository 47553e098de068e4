import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { type ScriptedForge, startScriptedForge } from '../../src/scripted-forge/server';
import { startModelServer } from '../../src/scripted-model/model-server';
import { loadScenario } from '../../src/scripted-model/scenario';
import { type RunStatusView, statusQuery } from '../../src/shapes/messages';
import type { RunResult } from '../../src/shapes/run';
import { packageRoot } from '../../src/temporal/package-paths';
import { git } from '../support/scripted-forge';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';

// The shipped example examples/issue-to-pr, end to end as its README runs it: the real `sop serve` (the
// GitHub App endpoint), a real `sop worker` (the fix step through the real Codex or Claude Code binary on the
// scripted model server) and the scripted forge delivering its webhooks to sop serve. An issue labelled bug
// starts the run; the run opens a pull request carrying its record; alice requests changes with an inline
// comment; the rework's prompt carries it; the same pull request gets the new commit; alice approves; the
// run comments on the issue with the pull request's link.

const example = path.join(packageRoot, 'examples', 'issue-to-pr');
const FULL = 'acme/widgets';
const SECRET = `app-secret-${randomUUID()}`;
const BOT = `ghs_bot${randomUUID().replace(/-/g, '')}`;
const ALICE = `ghp_alice${randomUUID().replace(/-/g, '')}`;
const INLINE = 'Also answer 0 for a negative count: parseCount("-2") is -2 now.';
// outside /tmp: Codex refuses to work from there
const machines = fs.mkdtempSync(path.join(os.homedir(), '.sop-issue-to-pr-'));
const children: ResultPromise[] = [];
const forges: ScriptedForge[] = [];
let ctx: TemporalTestContext;
let model: Awaited<ReturnType<typeof startModelServer>>;

/** Starts `sop ARGS` in `cwd` and resolves with the match of `ready` in its stderr. */
function sop(cwd: string, args: string[], env: Record<string, string>, ready: RegExp) {
  const child = execa('node', [path.join(packageRoot, 'bin', 'sop.js'), ...args], {
    cwd,
    env,
    stdin: 'ignore',
    reject: false,
  });
  children.push(child);
  let log = '';
  return new Promise<RegExpExecArray>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = ready.exec(log);
      if (m) resolve(m);
    });
    void child.then(() => reject(new Error(`sop ${args[0]} exited: ${log}`)));
  });
}

/** The example project (its fix step on `provider`), sop serve and a worker on a queue of their own, a forge. */
async function loop(provider: 'codex' | 'claude'): Promise<ScriptedForge> {
  const home = path.join(machines, provider);
  const project = path.join(home, 'project');
  fs.cpSync(example, project, { recursive: true });
  const sopFile = path.join(project, 'sops', 'fix_issue', 'sop.yaml');
  fs.writeFileSync(
    sopFile,
    fs.readFileSync(sopFile, 'utf8').replace('provider: codex', `provider: ${provider}`),
  );
  const queue = `issue-to-pr-${provider}-${randomUUID().slice(0, 8)}`;
  const port = Number(
    (
      await sop(
        project,
        ['serve', '--port', '0'],
        { SOP_TASK_QUEUE: queue, SOP_GITHUB_WEBHOOK_SECRET: SECRET },
        /listening on http:\/\/[^:]+:(\d+)/,
      )
    )[1],
  );
  const forge = await startScriptedForge({
    root: path.join(home, 'forge'),
    webhook: { url: `http://127.0.0.1:${port}/hooks/github`, secret: SECRET },
  });
  const { dir } = forge.addRepo(FULL);
  forges.push(forge);
  forge.addToken(BOT, { login: 'sop-bot', write: true });
  forge.addToken(ALICE, { login: 'alice' });
  // the repository the issue is about: the example's repo/ folder on main
  const seed = path.join(home, 'seed');
  fs.cpSync(path.join(project, 'repo'), seed, { recursive: true });
  git(seed, ['init', '--quiet', '--initial-branch=main']);
  git(seed, ['add', '-A']);
  git(seed, ['commit', '--quiet', '-m', 'widgets']);
  git(seed, ['push', '--quiet', dir, 'main']);
  await sop(
    project,
    ['worker'],
    {
      SOP_TASK_QUEUE: queue,
      HOME: home,
      SOP_WORK_ROOT: path.join(home, 'work'),
      SOP_CODEX_BASE_URL: `${model.url}/v1`,
      SOP_CLAUDE_BASE_URL: model.url,
      SOP_GITHUB_API_URL: forge.url,
      SOP_GITHUB_TOKEN: BOT,
    },
    /worker polling/,
  );
  return forge;
}

beforeAll(async () => {
  ctx = await connectForTest();
  model = await startModelServer(loadScenario(path.join(example, 'issue-to-pr.scenario.yaml')));
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children);
  await model?.close();
  for (const forge of forges) await forge.close();
  await ctx?.close();
  fs.rmSync(machines, { recursive: true, force: true });
});

/** A call to the forge's API as `token`. */
async function api(forge: ScriptedForge, token: string, route: string, body: object) {
  const res = await fetch(`${forge.url}${route}`, {
    method: 'POST',
    headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200 + (route.endsWith('/reviews') ? 0 : 1));
  return (await res.json()) as { number: number; id: number };
}

// biome-ignore lint/suspicious/noExplicitAny: webhook answers, asserted with toMatchObject
type Json = Record<string, any>;

/** The answer sop serve gave to the last `event` delivery. */
async function lastAnswer(forge: ScriptedForge, event: string, action?: string): Promise<Json> {
  await forge.webhooks.settled();
  const sent = forge.webhooks.sent.filter((s) => s.event === event && (!action || s.action === action));
  expect(sent.at(-1)?.status).toBe(202);
  return sent.at(-1)?.answer as Json;
}

test.each(['codex', 'claude'] as const)(
  'an issue labelled bug ends as one reviewed pull request and a comment linking it (fix step on %s)',
  async (provider) => {
    const forge = await loop(provider);
    const repo = forge.repo(FULL);
    const pulls = () => [...repo.issues.values()].filter((i) => i.pull);
    const headOf = (branch: string) => git(repo.dir, ['rev-parse', branch]).trim();

    const issue = await api(forge, ALICE, `/repos/${FULL}/issues`, {
      title: 'parseCount("") is NaN',
      labels: ['bug'],
    });
    const started = await lastAnswer(forge, 'issues', 'labeled');
    expect(started.runs).toHaveLength(1);
    const { workflowId } = started.runs[0] as { workflowId: string };
    const handle = ctx.client.workflow.getHandle(workflowId);
    const branch = `sop/${workflowId}`;
    const waitingAfter = (routes: number) =>
      eventually(async () => {
        const s = (await handle.query(statusQuery)) as RunStatusView;
        return s.status === 'waiting_input' && s.routesTaken.length === routes ? s : undefined;
      }, 300_000);

    // fixed, tested: the pull request with the run's record, and the gate waits for its review
    await waitingAfter(2);
    expect(pulls()).toHaveLength(1);
    const pr = pulls()[0];
    expect(pr.pull?.head).toBe(branch);
    expect(pr.title).toBe(`Fix #${issue.number}: parseCount("") is NaN`);
    expect(pr.body).toContain(`Fixes #${issue.number}.`);
    expect(pr.body).toContain(`### Run record \`${workflowId}\``);
    expect(pr.body).toContain('`test`: `node test.js` passed (exit 0)');
    expect(pr.body).toMatch(/\*\*Evidence:\*\* chain head `[0-9a-f]{64}`/);
    const firstHead = headOf(branch);
    expect(git(repo.dir, ['show', `${branch}:widgets.js`])).toContain('|| 0');

    // alice requests changes with an inline comment: the run goes back to fix, whose prompt carries it
    await api(forge, ALICE, `/repos/${FULL}/pulls/${pr.number}/reviews`, {
      event: 'REQUEST_CHANGES',
      body: 'Close, one more case.',
      comments: [{ path: 'widgets.js', line: 2, body: INLINE }],
    });
    expect((await lastAnswer(forge, 'pull_request_review')).review).toMatchObject({
      status: 'delivered',
      workflowId,
    });
    const back = await waitingAfter(5);
    expect(back.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual([
      'fix:fixed',
      'test:passed',
      'review:rejected',
      'fix:fixed',
      'test:passed',
    ]);
    const reworkPrompt = model.requests
      .map((r) => (r.userTexts ?? []).join('\n'))
      .find((text) => text.includes(INLINE));
    expect(reworkPrompt).toContain('widgets.js:2');
    expect(reworkPrompt).toContain('Close, one more case.');
    expect(reworkPrompt).toContain('alice');

    // the same pull request, on the rework's new commit, its record refreshed (one record)
    expect(pulls()).toHaveLength(1);
    const reworked = headOf(branch);
    expect(reworked).not.toBe(firstHead);
    expect(git(repo.dir, ['merge-base', '--is-ancestor', firstHead, reworked])).toBe('');
    expect(git(repo.dir, ['show', `${branch}:widgets.js`])).toContain('Math.max(0');
    expect(pulls()[0].body?.match(/### Run record/g)).toHaveLength(1);
    expect(pulls()[0].body).toContain('`review` → `rejected`');

    // approved: the run completes and comments on the issue with the pull request's link
    await api(forge, ALICE, `/repos/${FULL}/pulls/${pr.number}/reviews`, { event: 'APPROVE' });
    expect((await lastAnswer(forge, 'pull_request_review')).review).toMatchObject({ status: 'delivered' });
    const result = (await handle.result()) as RunResult;
    expect(result.routesTaken.at(-1)).toMatchObject({ step: 'review', route: 'approved' });
    const url = result.forge?.pullRequest?.url;
    expect(url).toContain(`/acme/widgets/pull/${pr.number}`);
    const comments = [...repo.comments.values()].filter((c) => c.issue === issue.number);
    expect(comments.map((c) => c.body.split('\n')[0])).toEqual([`Fixed by ${url}, approved in review.`]);
    expect(pulls()).toHaveLength(1);
    expect(pulls()[0].body).toContain('**Status:** completed');
  },
  900_000,
);
