// A review event from the forge on a run's pull request, as `sop serve` sends it to the run that owns the
// pull request's head branch (the `forgeReview` signal): a review (approved, changes requested, commented)
// or a `/sop rework <text>` comment, with who sent it. The run checks it against this schema first, then
// against its review gate's `allow:`. Pure (zod/mini): workflow code imports it.
import * as z from 'zod/mini';

const nonEmpty = () => z.string().check(z.minLength(1, 'must not be empty'));

const REVIEW_KINDS = ['approved', 'changes_requested', 'commented', 'rework'] as const;

/** GitHub's author associations that count as the repository's own people when a gate names nobody. */
const TRUSTED_ASSOCIATIONS = ['OWNER', 'MEMBER', 'COLLABORATOR'] as const;

const ReviewCommentSchema = z.object({
  path: nonEmpty(),
  line: z.optional(z.nullable(z.number())),
  body: z.string(),
});
export type ReviewComment = z.infer<typeof ReviewCommentSchema>;

export const ForgeReviewSchema = z.object({
  /** the webhook delivery (X-GitHub-Delivery): a redelivery is ignored */
  delivery: nonEmpty(),
  /** the GitHub event: pull_request_review or issue_comment */
  event: nonEmpty(),
  kind: z.enum(REVIEW_KINDS),
  /** the reviewer's (or commenter's) login */
  by: nonEmpty(),
  /** GitHub's author_association of the review or comment (OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE …) */
  association: z.optional(z.string()),
  /** the review's body, or the text after `/sop rework` */
  body: z.string(),
  repo: z.object({ owner: nonEmpty(), repo: nonEmpty() }),
  pullRequest: z.number(),
  /** the review's id: the run confirms the review with the forge by it (and reads its inline comments) */
  reviewId: z.optional(z.number()),
  /** the `/sop rework` comment's id: the run confirms the comment with the forge by it */
  commentId: z.optional(z.number()),
  url: z.optional(z.string()),
});
export type ForgeReview = z.infer<typeof ForgeReviewSchema>;
export const FORGE_REVIEW_SHAPE =
  '{"delivery": "<id>", "event": "pull_request_review", "kind": "approved|changes_requested|commented|rework", "by": "<login>", "body": "<text>", "repo": {"owner", "repo"}, "pullRequest": <number>, "reviewId": <number> (a review) or "commentId": <number> (a rework)}';

/** What a run did with a review event (kept in its state, shown by `sop runs show --json`). */
export interface ReviewRecord {
  delivery: string;
  kind: ForgeReview['kind'];
  by: string;
  pullRequest: number;
  /** approved / rejected (the gate routed), message (into the next prompt), refused, ignored */
  outcome: 'approved' | 'rejected' | 'message' | 'refused' | 'ignored';
  step?: string;
  reason?: string;
  /** refused because the forge could not be asked (unreachable, credential refused): a redelivery is taken */
  unconfirmed?: boolean;
}

/** `/sop rework <text>` at the start of a comment: the text (possibly empty), or undefined. */
export function reworkCommand(body: string): string | undefined {
  const m = /^\s*\/sop\s+rework\b([\s\S]*)$/.exec(body);
  return m ? m[1].trim() : undefined;
}

/**
 * A review or comment as the forge has it (read on the worker by `confirmReview`): the truth a signal's claim
 * is checked against. `state` is GitHub's review state (APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED,
 * PENDING); a comment has none.
 */
export interface ForgeRecord {
  by: string;
  association: string;
  /** the pull request (or issue) it is on */
  pullRequest: number | undefined;
  body: string;
  url?: string;
  state?: string;
}

/** What `confirmReview` answers: the forge's record (none: the forge has no such review or comment). */
export interface ReviewConfirmation {
  record?: ForgeRecord;
  /** a changes-requested review's inline comments, read in the same call */
  comments?: ReviewComment[];
  commentsProblem?: string;
}

const STATE_OF_KIND = {
  approved: 'APPROVED',
  changes_requested: 'CHANGES_REQUESTED',
  commented: 'COMMENTED',
} as const;

/** The forge id a signal names for its review or comment, or why it names none. */
export function forgeIdOf(review: ForgeReview): { id: number } | { refused: string } {
  const id = review.kind === 'rework' ? review.commentId : review.reviewId;
  if (id !== undefined) return { id };
  const what = review.kind === 'rework' ? 'comment id (commentId)' : 'review id (reviewId)';
  return { refused: `the signal names no ${what}, so the forge cannot confirm it` };
}

/**
 * The review as the forge confirms it (who, their association, the body and URL are the forge's), or why
 * the forge does not: no such review or comment, another author, pull request or state, or a comment that
 * is not this `/sop rework` command.
 */
export function confirmedReview(
  review: ForgeReview,
  id: number,
  record: ForgeRecord | undefined,
): { review: ForgeReview } | { refused: string } {
  const rework = review.kind === 'rework';
  const what = `${rework ? 'comment' : 'review'} ${id}`;
  const pr = review.pullRequest;
  if (!record) return { refused: `the forge has no ${what} by ${review.by} on #${pr}` };
  if (record.pullRequest !== pr)
    return { refused: `the forge has ${what} on #${record.pullRequest ?? '?'}, not on #${pr}` };
  if (record.by.toLowerCase() !== review.by.toLowerCase())
    return { refused: `the forge has ${what} on #${pr} by ${record.by}, not by ${review.by}` };
  if (!rework) {
    const claimed = STATE_OF_KIND[review.kind as keyof typeof STATE_OF_KIND];
    if (record.state !== claimed)
      return {
        refused: `the forge has ${what} by ${record.by} on #${pr} as ${record.state ?? 'no state'}, not ${claimed}`,
      };
  } else {
    const text = reworkCommand(record.body);
    if (text === undefined)
      return { refused: `the forge has ${what} by ${record.by} on #${pr}, but it is no /sop rework command` };
    if (text !== review.body.trim())
      return {
        refused: `the forge has ${what} by ${record.by} on #${pr} asking for other rework than the signal says`,
      };
  }
  const { url, ...rest } = review;
  const confirmedUrl = record.url ?? url;
  return {
    review: {
      ...rest,
      by: record.by,
      association: record.association,
      body: rework ? review.body.trim() : record.body,
      ...(confirmedUrl ? { url: confirmedUrl } : {}),
    },
  };
}

/** Whether the gate lets `review`'s sender decide: named in `allow`, or (no list) one of the repository's people. */
export function reviewerRefusal(allow: string[] | undefined, review: ForgeReview): string | undefined {
  if (allow) {
    return allow.includes(review.by)
      ? undefined
      : `${review.by} is not among the reviewers this gate allows (${allow.join(', ')})`;
  }
  const association = review.association ?? 'NONE';
  return (TRUSTED_ASSOCIATIONS as readonly string[]).includes(association)
    ? undefined
    : `${review.by} is ${association} of the repository; without allow: only its owners, members and collaborators count`;
}
