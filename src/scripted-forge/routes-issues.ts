// Pull requests, issue comments and labels, as GitHub's REST API answers them.

import type { operations } from '@octokit/openapi-types';
import {
  bodyObject,
  custom,
  HttpError,
  invalid,
  issueOf,
  limitBody,
  notFound,
  now,
  oneOf,
  optionalString,
  paginate,
  type Route,
  type RouteContext,
  requiredString,
} from './route-kit';
import {
  basicError,
  type IssueComment,
  label,
  type PullRequest,
  type PullRequestSimple,
  repository,
  simpleUser,
} from './shapes';
import { type CommentState, type IssueState, type PullState, resolveCommit } from './state';
import { associationOf, common, issuePayload } from './webhooks';

type CreatePull = operations['pulls/create']['requestBody']['content']['application/json'];
type UpdatePull = NonNullable<operations['pulls/update']['requestBody']>['content']['application/json'];

export const issueRoutes: Route[] = [
  { method: 'POST', path: '/repos/{owner}/{repo}/issues', auth: 'token', handler: createIssue },
  { method: 'POST', path: '/repos/{owner}/{repo}/pulls', auth: 'token', handler: createPull },
  { method: 'GET', path: '/repos/{owner}/{repo}/pulls', auth: 'token', handler: listPulls },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/pulls/{pull_number}',
    auth: 'token',
    handler: (ctx) => ({ status: 200, body: pullBody(ctx, pullOf(ctx)) }),
  },
  { method: 'PATCH', path: '/repos/{owner}/{repo}/pulls/{pull_number}', auth: 'token', handler: updatePull },
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers',
    auth: 'token',
    handler: requestReviewers,
  },
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/issues/{issue_number}/comments',
    auth: 'token',
    handler: addComment,
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/issues/{issue_number}/comments',
    auth: 'token',
    handler: (ctx) => {
      const issue = issueOf(ctx);
      const all = [...ctx.repo.comments.values()].filter((c) => c.issue === issue.number);
      const path = `/repos/${ctx.repo.owner}/${ctx.repo.name}/issues/${issue.number}/comments`;
      return { status: 200, body: paginate(ctx, all, path).map((c) => commentBody(ctx, c)) };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/issues/comments/{comment_id}',
    auth: 'token',
    handler: (ctx) => ({ status: 200, body: commentBody(ctx, commentOf(ctx)) }),
  },
  {
    method: 'PATCH',
    path: '/repos/{owner}/{repo}/issues/comments/{comment_id}',
    auth: 'token',
    handler: (ctx) => {
      const comment = commentOf(ctx);
      const body = requiredString(bodyObject(ctx), 'body', 'IssueComment');
      limitBody(body, 'IssueComment');
      comment.body = body;
      comment.updatedAt = now();
      return { status: 200, body: commentBody(ctx, comment) };
    },
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/issues/{issue_number}/labels',
    auth: 'token',
    handler: (ctx) => ({ status: 200, body: labelsBody(ctx, issueOf(ctx)) }),
  },
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/issues/{issue_number}/labels',
    auth: 'token',
    handler: (ctx) => setLabels(ctx, false),
  },
  {
    method: 'PUT',
    path: '/repos/{owner}/{repo}/issues/{issue_number}/labels',
    auth: 'token',
    handler: (ctx) => setLabels(ctx, true),
  },
  {
    method: 'DELETE',
    path: '/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}',
    auth: 'token',
    handler: (ctx) => {
      const issue = issueOf(ctx);
      const at = issue.labels.findIndex((l) => l.toLowerCase() === ctx.params.name.toLowerCase());
      if (at < 0) throw new HttpError(404, basicError('Label does not exist', 404));
      issue.labels.splice(at, 1);
      return { status: 200, body: labelsBody(ctx, issue) };
    },
  },
];

function createPull(ctx: RouteContext) {
  const body = bodyObject(ctx) as Partial<CreatePull> & Record<string, unknown>;
  const title = requiredString(body, 'title', 'PullRequest');
  const headSpec = requiredString(body, 'head', 'PullRequest');
  const base = requiredString(body, 'base', 'PullRequest');
  const text = optionalString(body, 'body', 'PullRequest');
  limitBody(text, 'PullRequest');
  if (body.draft !== undefined && typeof body.draft !== 'boolean') throw invalid('PullRequest', 'draft');
  const [headOwner, head] = headSpec.includes(':') ? headSpec.split(':', 2) : [ctx.repo.owner, headSpec];
  if (headOwner.toLowerCase() !== ctx.repo.owner.toLowerCase() || !resolveCommit(ctx.repo, head)) {
    throw invalid('PullRequest', 'head');
  }
  const baseSha = resolveCommit(ctx.repo, base);
  if (!baseSha) throw invalid('PullRequest', 'base');
  if (resolveCommit(ctx.repo, head) === baseSha)
    throw custom('PullRequest', `No commits between ${base} and ${head}`);
  const open = [...ctx.repo.issues.values()].find(
    (i) => i.pull?.state === 'open' && i.pull.head === head && i.pull.base === base,
  );
  if (open) throw custom('PullRequest', `A pull request already exists for ${ctx.repo.owner}:${head}.`);
  const issue = ctx.state.addIssue(ctx.repo, { title, body: text ?? null, user: ctx.identity.login });
  const stamp = now();
  issue.pull = {
    head,
    base,
    draft: body.draft === true,
    state: 'open',
    requestedReviewers: [],
    createdBy: ctx.identity.login,
    createdAt: stamp,
    updatedAt: stamp,
    closedAt: null,
  };
  return { status: 201, body: pullBody(ctx, issue) };
}

function listPulls(ctx: RouteContext) {
  const state = oneOf(ctx.query.state, ['open', 'closed', 'all'] as const, 'PullRequest', 'state') ?? 'open';
  // as on GitHub, `head` filters only in its `owner:branch` form
  const head = ctx.query.head?.includes(':') ? ctx.query.head.split(':', 2) : undefined;
  const pulls = [...ctx.repo.issues.values()]
    .filter((i) => i.pull && (state === 'all' || i.pull.state === state))
    .filter(
      (i) => !head || (head[0].toLowerCase() === ctx.repo.owner.toLowerCase() && i.pull?.head === head[1]),
    )
    .filter((i) => !ctx.query.base || i.pull?.base === ctx.query.base)
    .sort((a, b) => (ctx.query.direction === 'asc' ? a.number - b.number : b.number - a.number));
  const path = `/repos/${ctx.repo.owner}/${ctx.repo.name}/pulls`;
  return { status: 200, body: paginate(ctx, pulls, path).map((i) => pullSimpleBody(ctx, i)) };
}

function updatePull(ctx: RouteContext) {
  const issue = pullOf(ctx);
  const pull = issue.pull as PullState;
  const body = bodyObject(ctx) as Partial<UpdatePull> & Record<string, unknown>;
  const title = optionalString(body, 'title', 'PullRequest');
  const text = optionalString(body, 'body', 'PullRequest');
  limitBody(text, 'PullRequest');
  const state = oneOf(body.state, ['open', 'closed'] as const, 'PullRequest', 'state');
  const base = optionalString(body, 'base', 'PullRequest');
  if (base !== undefined && !resolveCommit(ctx.repo, base)) throw invalid('PullRequest', 'base');
  if (state === 'open' && pull.state === 'closed' && !resolveCommit(ctx.repo, pull.head)) {
    throw custom('PullRequest', 'state cannot be changed. The head branch was deleted.');
  }
  if (title !== undefined) issue.title = title;
  if (body.body !== undefined) issue.body = text ?? null;
  if (base !== undefined) pull.base = base;
  if (state !== undefined && state !== pull.state) {
    pull.state = state;
    pull.closedAt = state === 'closed' ? now() : null;
  }
  pull.updatedAt = now();
  return { status: 200, body: pullBody(ctx, issue) };
}

function requestReviewers(ctx: RouteContext) {
  const issue = pullOf(ctx);
  const pull = issue.pull as PullState;
  const body = bodyObject(ctx);
  const reviewers = body.reviewers ?? [];
  if (!Array.isArray(reviewers) || reviewers.some((r) => typeof r !== 'string' || r === '')) {
    throw invalid('PullRequest', 'reviewers');
  }
  if (reviewers.length === 0 && !Array.isArray(body.team_reviewers)) {
    throw invalid('PullRequest', 'reviewers', 'missing_field');
  }
  if ((reviewers as string[]).some((r) => r.toLowerCase() === pull.createdBy.toLowerCase())) {
    throw new HttpError(422, {
      message: 'Review cannot be requested from pull request author.',
      documentation_url:
        'https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request',
    });
  }
  for (const login of reviewers as string[]) {
    if (!pull.requestedReviewers.some((r) => r.toLowerCase() === login.toLowerCase())) {
      pull.requestedReviewers.push(login);
    }
  }
  return { status: 201, body: pullSimpleBody(ctx, issue) };
}

function addComment(ctx: RouteContext) {
  const issue = issueOf(ctx);
  const body = requiredString(bodyObject(ctx), 'body', 'IssueComment');
  limitBody(body, 'IssueComment');
  const stamp = now();
  const comment: CommentState = {
    id: ctx.state.id(),
    issue: issue.number,
    body,
    user: ctx.identity.login,
    association: associationOf(ctx),
    createdAt: stamp,
    updatedAt: stamp,
  };
  ctx.repo.comments.set(comment.id, comment);
  const shown = commentBody(ctx, comment);
  ctx.webhooks.send('issue_comment', {
    action: 'created',
    issue: issuePayload(ctx, issue),
    comment: shown,
    ...common(ctx),
  });
  return { status: 201, body: shown };
}

/** A new issue (title required; body, labels): GitHub delivers `issues` opened, then labeled per label. */
function createIssue(ctx: RouteContext) {
  const body = bodyObject(ctx);
  const title = requiredString(body, 'title', 'Issue');
  const text = optionalString(body, 'body', 'Issue');
  limitBody(text, 'Issue');
  const labels = body.labels ?? [];
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string' || l.trim() === ''))
    throw invalid('Issue', 'labels');
  const issue = ctx.state.addIssue(ctx.repo, { title, body: text ?? null, user: ctx.identity.login });
  ctx.webhooks.send('issues', { action: 'opened', issue: issuePayload(ctx, issue), ...common(ctx) });
  labelled(ctx, issue, labels as string[]);
  return {
    status: 201,
    body: {
      number: issue.number,
      id: issue.id,
      title,
      body: issue.body,
      labels: labelsBody(ctx, issue),
      html_url: issuePayload(ctx, issue).html_url,
    },
  };
}

/** Attaches labels; GitHub delivers `issues` labeled for each one the issue did not have. */
function labelled(ctx: RouteContext, issue: IssueState, names: string[]) {
  for (const name of names) {
    const had = issue.labels.some((l) => l.toLowerCase() === name.toLowerCase());
    ctx.state.attachLabel(ctx.repo, issue, name);
    if (had || issue.pull) continue;
    ctx.webhooks.send('issues', {
      action: 'labeled',
      label: { name, id: ctx.repo.labelIds.get(name) ?? 0 },
      issue: issuePayload(ctx, issue),
      ...common(ctx),
    });
  }
}

/** POST adds, PUT replaces; the body is `{labels: [...]}` or a bare array, of names or `{name}`. */
function setLabels(ctx: RouteContext, replace: boolean) {
  const issue = issueOf(ctx);
  const raw = Array.isArray(ctx.body) ? ctx.body : (bodyObject(ctx).labels as unknown);
  if (!Array.isArray(raw) || (!replace && raw.length === 0))
    throw invalid('Label', 'labels', 'missing_field');
  const names = raw.map((l) => (typeof l === 'object' && l !== null ? (l as { name?: unknown }).name : l));
  if (names.some((n) => typeof n !== 'string' || n.trim() === '' || n.length > 50)) {
    throw invalid('Label', 'name');
  }
  if (replace) issue.labels = [];
  labelled(ctx, issue, names as string[]);
  return { status: 200, body: labelsBody(ctx, issue) };
}

function pullOf(ctx: RouteContext): IssueState {
  const issue = ctx.repo.issues.get(Number(ctx.params.pull_number));
  if (!issue?.pull) throw notFound();
  return issue;
}

function commentOf(ctx: RouteContext): CommentState {
  const comment = ctx.repo.comments.get(Number(ctx.params.comment_id));
  if (!comment) throw notFound();
  return comment;
}

function labelsBody(ctx: RouteContext, issue: IssueState) {
  const { repo } = ctx;
  return issue.labels.map((name) =>
    label(ctx.base, repo.owner, repo.name, name, repo.labelIds.get(name) ?? 0),
  );
}

function commentBody(ctx: RouteContext, c: CommentState): IssueComment {
  const repoUrl = `${ctx.base}/repos/${ctx.repo.owner}/${ctx.repo.name}`;
  return {
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${repoUrl}/issues/comments/${c.id}`,
    html_url: `${ctx.base}/${ctx.repo.owner}/${ctx.repo.name}/issues/${c.issue}#issuecomment-${c.id}`,
    body: c.body,
    user: simpleUser(ctx.base, c.user, userId(c.user)),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    issue_url: `${repoUrl}/issues/${c.issue}`,
    author_association: (c.association ?? 'NONE') as IssueComment['author_association'],
  };
}

function pullSimpleBody(ctx: RouteContext, issue: IssueState): PullRequestSimple {
  // the list answers without the merge and size fields of a single pull request
  const {
    merged: _merged,
    mergeable: _mergeable,
    rebaseable: _rebaseable,
    mergeable_state: _state,
    merged_by: _by,
    comments: _comments,
    review_comments: _reviewComments,
    maintainer_can_modify: _modify,
    commits: _commits,
    additions: _additions,
    deletions: _deletions,
    changed_files: _changed,
    ...simple
  } = pullBody(ctx, issue);
  // the list's labels carry a description string (empty when unset)
  const labels = simple.labels.map((l) => ({ ...l, description: l.description ?? '' }));
  return { ...simple, labels, requested_teams: [] };
}

function pullBody(ctx: RouteContext, issue: IssueState): PullRequest {
  const { repo, base } = ctx;
  const pull = issue.pull as PullState;
  const repoUrl = `${base}/repos/${repo.owner}/${repo.name}`;
  const html = `${base}/${repo.owner}/${repo.name}/pull/${issue.number}`;
  const headSha = resolveCommit(repo, pull.head) ?? '0'.repeat(40);
  const side = (ref: string, sha: string) => ({
    label: `${repo.owner}:${ref}`,
    ref,
    sha,
    repo: repository(base, repo.owner, repo.name, repo.id),
    user: simpleUser(base, repo.owner, 1, 'Organization'),
  });
  const link = (href: string) => ({ href });
  const url = `${repoUrl}/pulls/${issue.number}`;
  const comments = [...repo.comments.values()].filter((c) => c.issue === issue.number).length;
  return {
    url,
    id: issue.id,
    node_id: `PR_${issue.id}`,
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: `${repoUrl}/issues/${issue.number}`,
    commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`,
    review_comment_url: `${repoUrl}/pulls/comments{/number}`,
    comments_url: `${repoUrl}/issues/${issue.number}/comments`,
    statuses_url: `${repoUrl}/statuses/${headSha}`,
    number: issue.number,
    state: pull.state,
    locked: false,
    title: issue.title,
    user: simpleUser(base, pull.createdBy, userId(pull.createdBy)),
    body: issue.body,
    labels: labelsBody(ctx, issue),
    milestone: null,
    created_at: pull.createdAt,
    updated_at: pull.updatedAt,
    closed_at: pull.closedAt,
    merged_at: null,
    merge_commit_sha: null,
    assignee: null,
    assignees: [],
    requested_reviewers: pull.requestedReviewers.map((login) => simpleUser(base, login, userId(login))),
    requested_teams: [],
    head: side(pull.head, headSha),
    base: side(pull.base, resolveCommit(repo, pull.base) ?? '0'.repeat(40)),
    _links: {
      comments: link(`${repoUrl}/issues/${issue.number}/comments`),
      commits: link(`${url}/commits`),
      statuses: link(`${repoUrl}/statuses/${headSha}`),
      html: link(html),
      issue: link(`${repoUrl}/issues/${issue.number}`),
      review_comments: link(`${url}/comments`),
      review_comment: link(`${repoUrl}/pulls/comments{/number}`),
      self: link(url),
    },
    author_association: 'MEMBER',
    auto_merge: null,
    draft: pull.draft,
    merged: false,
    mergeable: true,
    rebaseable: true,
    mergeable_state: 'clean',
    merged_by: null,
    comments,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: 1,
    additions: 0,
    deletions: 0,
    changed_files: 0,
  };
}

/** A stable numeric id for a login (GitHub's user ids are numbers). */
export function userId(login: string): number {
  let h = 7;
  for (const ch of login) h = (h * 31 + ch.charCodeAt(0)) % 1_000_000;
  return 100_000 + h;
}
