// Pull request reviews, as GitHub's REST API answers them: a review is submitted (approve, request changes,
// comment) with inline comments on files and lines, and its comments are listed. What a reviewer does on
// GitHub before its webhook reaches `sop serve`; the runtime reads a review back (to confirm a signal that
// names it) and its inline comments.

import type { operations } from '@octokit/openapi-types';
import {
  bodyObject,
  custom,
  invalid,
  notFound,
  now,
  oneOf,
  optionalString,
  paginate,
  type Route,
  type RouteContext,
} from './route-kit';
import { userId } from './routes-issues';
import { type Schemas, simpleUser } from './shapes';
import { type IssueState, type RepoState, resolveCommit } from './state';
import { associationOf, common, pullPayload } from './webhooks';

type CreateReview = NonNullable<
  operations['pulls/create-review']['requestBody']
>['content']['application/json'];
const EVENTS = ['APPROVE', 'REQUEST_CHANGES', 'COMMENT'] as const;
const STATE_OF = { APPROVE: 'APPROVED', REQUEST_CHANGES: 'CHANGES_REQUESTED', COMMENT: 'COMMENTED' } as const;

interface ReviewState {
  id: number;
  pull: number;
  user: string;
  body: string;
  state: (typeof STATE_OF)[keyof typeof STATE_OF];
  commitId: string | null;
  submittedAt: string;
  /** GitHub's author_association of the reviewer, as when they reviewed */
  association: string;
  comments: { id: number; path: string; line: number; body: string }[];
}

/** Reviews by repository, beside the forge's state (state.ts has no review of its own). */
const reviewsOf = new WeakMap<RepoState, Map<number, ReviewState>>();
const reviews = (repo: RepoState) => {
  const map = reviewsOf.get(repo) ?? new Map<number, ReviewState>();
  reviewsOf.set(repo, map);
  return map;
};

export const reviewRoutes: Route[] = [
  {
    method: 'POST',
    path: '/repos/{owner}/{repo}/pulls/{pull_number}/reviews',
    auth: 'token',
    handler: createReview,
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}',
    auth: 'token',
    handler: (ctx) => ({ status: 200, body: reviewShape(ctx, reviewOf(ctx)) }),
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/pulls/{pull_number}/reviews/{review_id}/comments',
    auth: 'token',
    handler: listReviewComments,
  },
];

function pullOf(ctx: RouteContext): IssueState & { pull: NonNullable<IssueState['pull']> } {
  const issue = ctx.repo.issues.get(Number(ctx.params.pull_number));
  if (!issue?.pull) throw notFound();
  return issue as IssueState & { pull: NonNullable<IssueState['pull']> };
}

function createReview(ctx: RouteContext) {
  const pr = pullOf(ctx);
  const body = bodyObject(ctx) as Partial<CreateReview>;
  const event = oneOf(body.event, EVENTS, 'PullRequestReview', 'event');
  if (!event) throw invalid('PullRequestReview', 'event', 'missing_field');
  const text = optionalString(body as Record<string, unknown>, 'body', 'PullRequestReview') ?? '';
  if (event !== 'APPROVE' && !text && !body.comments?.length)
    throw custom('PullRequestReview', `Body is required when using ${event}`);
  const login = ctx.identity.login;
  if (event !== 'COMMENT' && login === pr.pull.createdBy)
    throw custom(
      'PullRequestReview',
      `Can not ${event === 'APPROVE' ? 'approve' : 'request changes on'} your own pull request`,
    );
  const comments = (body.comments ?? []).map((c, i) => {
    if (typeof c?.path !== 'string' || !c.path)
      throw invalid('PullRequestReviewComment', `comments[${i}].path`, 'missing_field');
    if (typeof c.body !== 'string' || !c.body)
      throw invalid('PullRequestReviewComment', `comments[${i}].body`, 'missing_field');
    const line = c.line ?? c.position;
    if (typeof line !== 'number' || line < 1)
      throw invalid('PullRequestReviewComment', `comments[${i}].line`, 'missing_field');
    return { id: ctx.state.id(), path: c.path, line, body: c.body };
  });
  const review: ReviewState = {
    id: ctx.state.id(),
    pull: pr.number,
    user: login,
    body: text,
    state: STATE_OF[event],
    commitId: resolveCommit(ctx.repo, pr.pull.head) ?? null,
    submittedAt: now(),
    association: associationOf(ctx),
    comments,
  };
  reviews(ctx.repo).set(review.id, review);
  const shown = reviewShape(ctx, review);
  ctx.webhooks.send('pull_request_review', {
    action: 'submitted',
    review: { ...shown, state: review.state.toLowerCase() },
    pull_request: pullPayload(ctx, pr),
    ...common(ctx),
  });
  return { status: 200, body: shown };
}

/** The review the path names, on the pull request it names (another pull request's review is 404, as on GitHub). */
function reviewOf(ctx: RouteContext): ReviewState {
  const pr = pullOf(ctx);
  const review = reviews(ctx.repo).get(Number(ctx.params.review_id));
  if (!review || review.pull !== pr.number) throw notFound();
  return review;
}

function listReviewComments(ctx: RouteContext) {
  const pr = pullOf(ctx);
  const review = reviewOf(ctx);
  const path = `/repos/${ctx.repo.owner}/${ctx.repo.name}/pulls/${pr.number}/reviews/${review.id}/comments`;
  return {
    status: 200,
    body: paginate(
      ctx,
      review.comments.map((c) => commentShape(ctx, review, c)),
      path,
    ),
  };
}

function pullUrls(ctx: RouteContext, pull: number) {
  const api = `${ctx.base}/repos/${ctx.repo.owner}/${ctx.repo.name}/pulls/${pull}`;
  return { api, html: `${ctx.base}/${ctx.repo.owner}/${ctx.repo.name}/pull/${pull}` };
}

function reviewShape(ctx: RouteContext, review: ReviewState): Schemas['pull-request-review'] {
  const urls = pullUrls(ctx, review.pull);
  return {
    id: review.id,
    node_id: `PRR_${review.id}`,
    user: simpleUser(ctx.base, review.user, userId(review.user)),
    body: review.body,
    state: review.state,
    html_url: `${urls.html}#pullrequestreview-${review.id}`,
    pull_request_url: urls.api,
    _links: {
      html: { href: `${urls.html}#pullrequestreview-${review.id}` },
      pull_request: { href: urls.api },
    },
    submitted_at: review.submittedAt,
    commit_id: review.commitId,
    author_association: review.association as Schemas['pull-request-review']['author_association'],
  };
}

function commentShape(
  ctx: RouteContext,
  review: ReviewState,
  c: ReviewState['comments'][number],
): Schemas['review-comment'] {
  const urls = pullUrls(ctx, review.pull);
  const url = `${ctx.base}/repos/${ctx.repo.owner}/${ctx.repo.name}/pulls/comments/${c.id}`;
  return {
    url,
    pull_request_review_id: review.id,
    id: c.id,
    node_id: `PRRC_${c.id}`,
    diff_hunk: '',
    path: c.path,
    position: c.line,
    original_position: c.line,
    commit_id: review.commitId ?? '',
    original_commit_id: review.commitId ?? '',
    user: simpleUser(ctx.base, review.user, userId(review.user)),
    body: c.body,
    created_at: review.submittedAt,
    updated_at: review.submittedAt,
    html_url: `${urls.html}#discussion_r${c.id}`,
    pull_request_url: urls.api,
    author_association: review.association as Schemas['review-comment']['author_association'],
    _links: {
      self: { href: url },
      html: { href: `${urls.html}#discussion_r${c.id}` },
      pull_request: { href: urls.api },
    },
    line: c.line,
    original_line: c.line,
    side: 'RIGHT',
  };
}
