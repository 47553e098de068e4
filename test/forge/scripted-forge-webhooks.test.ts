import * as fs from 'node:fs';
import { deliveryKey } from '../../src/forge/forge';
import { forgeFromEnv } from '../../src/forge/github';
import { startScriptedForge } from '../../src/scripted-forge/server';
import { buildIngress, type HookDelivery, type HookGroup, type RoutedReview } from '../../src/serve/ingress';
import { reviewRouting } from '../../src/serve/reviews';
import type { RunRequest } from '../../src/shapes/run-request';
import { git, RUN_BRANCH, workingRepo } from '../support/scripted-forge';

// The scripted forge delivers a GitHub App's webhooks for what is done through its API (an issue opened with
// a label, a review, a comment), signed with the App's secret, to `sop serve`'s ingress: the issue starts the
// shared hook's trigger, the review and the /sop rework comment map to the run owning the pull request.

const SECRET = 'app-webhook-secret';

test('issues, reviews and comments made on the scripted forge reach POST /hooks/github as GitHub delivers them', async () => {
  const starts: (RunRequest & { task: string })[] = [];
  const reviews: HookDelivery[] = [];
  const group: HookGroup = {
    name: 'github',
    shared: true,
    spec: { secretEnv: 'SOP_GITHUB_WEBHOOK_SECRET', signature: 'github' },
    triggers: [
      {
        name: 'github',
        sop: 'bugfix',
        trigger: 'bugs',
        spec: {
          hook: 'github',
          secretEnv: 'SOP_GITHUB_WEBHOOK_SECRET',
          signature: 'github',
          filter: { event: ['issues'], action: ['labeled'], labels: ['bug'] },
          dedupe: { from: 'header', name: 'X-GitHub-Delivery' },
        },
        request: (d) => ({
          request: {
            sop: 'bugfix',
            input: { request: String((d.payload.issue as { title: string }).title) },
            repo: { url: String((d.payload.repository as { clone_url: string }).clone_url) },
          } as RunRequest,
        }),
      },
    ],
  };
  const ingress = buildIngress({
    hooks: new Map([['github', group]]),
    env: { SOP_GITHUB_WEBHOOK_SECRET: SECRET },
    start: async (request) => {
      starts.push(request);
      return { started: true, workflowId: `${request.sop}/${request.task}`, runId: 'r' };
    },
    routeReview: async (delivery): Promise<RoutedReview | undefined> => {
      const routed = reviewRouting(delivery.event, delivery.delivery, delivery.payload);
      if (!routed || 'ignored' in routed)
        return routed ? { status: 'ignored', reason: routed.ignored } : undefined;
      reviews.push(delivery);
      return { status: 'delivered', workflowId: routed.workflowId };
    },
  });
  const url = await ingress.listen({ port: 0, host: '127.0.0.1' });
  const forge = await startScriptedForge({ webhook: { url: `${url}/hooks/github`, secret: SECRET } });
  const work = workingRepo();
  try {
    const { dir, cloneUrl } = forge.addRepo('acme/widgets');
    git(work.dir, ['push', '--quiet', dir, 'main', RUN_BRANCH]);
    forge.addToken('bot-token', { login: 'sop-bot' });
    forge.addToken('alice-token', { login: 'alice' });
    const api = async (token: string, path: string, body: object) => {
      const res = await fetch(`${forge.url}${path}`, {
        method: 'POST',
        headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBeLessThan(300);
      return (await res.json()) as { number: number; id: number };
    };
    const issue = await api('alice-token', '/repos/acme/widgets/issues', {
      title: 'Login fails',
      labels: ['bug'],
    });
    await forge.webhooks.settled();
    expect(forge.webhooks.sent.map((s) => `${s.event}.${s.action} ${s.status}`)).toEqual([
      'issues.opened 200',
      'issues.labeled 202',
    ]);
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({ input: { request: 'Login fails' }, repo: { url: cloneUrl } });

    const pull = await forgeFromEnv({
      SOP_GITHUB_API_URL: forge.url,
      SOP_GITHUB_TOKEN: 'bot-token',
    }).ensurePullRequest(
      { owner: 'acme', repo: 'widgets' },
      {
        key: deliveryKey('bugfix/issue-7', 'pull-request'),
        head: RUN_BRANCH,
        base: 'main',
        title: 'Fix',
        body: 'The fix.',
      },
    );
    await api('alice-token', `/repos/acme/widgets/pulls/${pull.number}/reviews`, {
      event: 'REQUEST_CHANGES',
      body: 'Handle the empty password too.',
      comments: [{ path: 'src/login.ts', line: 12, body: 'This throws.' }],
    });
    const reworkComment = await api('alice-token', `/repos/acme/widgets/issues/${pull.number}/comments`, {
      body: '/sop rework and add a test',
    });
    await api('alice-token', `/repos/acme/widgets/issues/${issue.number}/comments`, { body: 'thanks' });
    await forge.webhooks.settled();
    expect(forge.webhooks.sent.slice(2).map((s) => `${s.event}.${s.action} ${s.status}`)).toEqual([
      'pull_request_review.submitted 202',
      'issue_comment.created 202',
      'issue_comment.created 200',
    ]);
    const [review, rework] = reviews.map((d) => reviewRouting(d.event, d.delivery, d.payload));
    expect(review).toMatchObject({
      workflowId: 'bugfix/issue-7',
      review: {
        kind: 'changes_requested',
        by: 'alice',
        association: 'COLLABORATOR',
        pullRequest: pull.number,
      },
    });
    expect(rework).toMatchObject({
      workflowId: 'bugfix/issue-7',
      // the comment's id, by which the run confirms it with the forge
      review: { kind: 'rework', body: 'and add a test', commentId: reworkComment.id },
    });
  } finally {
    await forge.close();
    await ingress.close();
    fs.rmSync(work.dir, { recursive: true, force: true });
  }
});
