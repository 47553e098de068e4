// Review events on the shared GitHub hook: a pull request review (approved, changes requested, commented) or
// a `/sop rework <text>` comment on a pull request goes to the run that owns the pull request's head branch
// (`sop/<sop>/<task>` → the run `<sop>/<task>`) as the `forgeReview` signal, with the review's or comment's
// id: the run confirms it with the forge by that id, then checks who sent it against its review gate. Payload types from @octokit/webhooks-types; the mapping is pure.
import type { IssueCommentCreatedEvent, PullRequestReviewSubmittedEvent } from '@octokit/webhooks-types';
import { markersIn } from '../forge/forge';
import { runOfPullRequestKey } from '../shapes/deliveries';
import { type ForgeReview, reworkCommand } from '../shapes/forge-review';
import { NAME_PATTERN, TASK_ID_PATTERN } from '../shapes/names';

/** A review event mapped: the run it goes to and the signal, or why it goes nowhere. */
export type ReviewRouting =
  | { workflowId: string; sop: string; task: string; review: ForgeReview }
  | { ignored: string };

/** The run whose branch `ref` is (`sop/<sop>/<task>`), or undefined for any other branch. */
export function runOfBranch(ref: string): { sop: string; task: string } | undefined {
  const m = /^sop\/([^/]+)\/([^/]+)$/.exec(ref);
  if (!m || !NAME_PATTERN.test(m[1]) || !TASK_ID_PATTERN.test(m[2])) return undefined;
  return { sop: m[1], task: m[2] };
}

/** The run whose pull request this body is: its hidden marker `<!-- sop:<sop>/<task>/pull-request -->`. */
export function runOfMarker(body: string | null | undefined): { sop: string; task: string } | undefined {
  for (const key of markersIn(body)) {
    const [sop, task, ...rest] = runOfPullRequestKey(key)?.split('/') ?? [];
    if (rest.length === 0 && sop && task && NAME_PATTERN.test(sop) && TASK_ID_PATTERN.test(task))
      return { sop, task };
  }
  return undefined;
}

/**
 * A verified delivery of a review event as the signal for the run owning the pull request; undefined for
 * events that are not about reviews.
 */
export function reviewRouting(
  event: string | undefined,
  delivery: string,
  payload: Record<string, unknown>,
): ReviewRouting | undefined {
  if (event === 'pull_request_review')
    return fromReview(delivery, payload as unknown as PullRequestReviewSubmittedEvent);
  if (event === 'pull_request_review_comment')
    return { ignored: 'an inline comment reaches the run with its review (the pull_request_review event)' };
  if (event === 'issue_comment') return fromComment(delivery, payload as unknown as IssueCommentCreatedEvent);
  return undefined;
}

function fromReview(delivery: string, p: PullRequestReviewSubmittedEvent): ReviewRouting {
  if (p.action !== 'submitted') return { ignored: `a review ${String(p.action)}, not submitted` };
  const state = p.review?.state;
  const kind =
    state === 'approved'
      ? 'approved'
      : state === 'changes_requested'
        ? 'changes_requested'
        : state === 'commented'
          ? 'commented'
          : undefined;
  if (!kind) return { ignored: `a review in state ${String(state)}` };
  const ref = p.pull_request?.head?.ref;
  const run = (ref ? runOfBranch(ref) : undefined) ?? runOfMarker(p.pull_request?.body);
  if (!run) return { ignored: `pull request #${p.pull_request?.number} (branch ${ref}) is not a run's` };
  const repo = repoOf(p.repository);
  if (!repo || !p.review.user?.login) return { ignored: 'the payload has no repository or reviewer' };
  return {
    ...run,
    workflowId: `${run.sop}/${run.task}`,
    review: {
      delivery,
      event: 'pull_request_review',
      kind,
      by: p.review.user.login,
      association: p.review.author_association,
      body: p.review.body ?? '',
      repo,
      pullRequest: p.pull_request.number,
      reviewId: p.review.id,
      url: p.review.html_url,
    },
  };
}

function fromComment(delivery: string, p: IssueCommentCreatedEvent): ReviewRouting {
  if (p.action !== 'created') return { ignored: `a comment ${String(p.action)}, not created` };
  if (!p.issue?.pull_request) return { ignored: `#${p.issue?.number} is an issue, not a pull request` };
  const text = reworkCommand(p.comment?.body ?? '');
  if (text === undefined) return { ignored: 'a comment without a /sop rework command' };
  const run = runOfMarker(p.issue.body);
  if (!run) return { ignored: `pull request #${p.issue.number} carries no run's marker` };
  const repo = repoOf(p.repository);
  if (!repo || !p.comment.user?.login) return { ignored: 'the payload has no repository or commenter' };
  return {
    ...run,
    workflowId: `${run.sop}/${run.task}`,
    review: {
      delivery,
      event: 'issue_comment',
      kind: 'rework',
      by: p.comment.user.login,
      association: p.comment.author_association,
      body: text,
      repo,
      pullRequest: p.issue.number,
      commentId: p.comment.id,
      url: p.comment.html_url,
    },
  };
}

function repoOf(repository: { name?: string; owner?: { login?: string } } | undefined) {
  const owner = repository?.owner?.login;
  return owner && repository?.name ? { owner, repo: repository.name } : undefined;
}
