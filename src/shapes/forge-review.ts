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
  /** the review's id: its inline comments are read from the forge */
  reviewId: z.optional(z.number()),
  url: z.optional(z.string()),
});
export type ForgeReview = z.infer<typeof ForgeReviewSchema>;
export const FORGE_REVIEW_SHAPE =
  '{"delivery": "<id>", "event": "pull_request_review", "kind": "approved|changes_requested|commented|rework", "by": "<login>", "body": "<text>", "repo": {"owner", "repo"}, "pullRequest": <number>}';

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
