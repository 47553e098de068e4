// Review feedback from the forge: the `forgeReview` signal (sent by `sop serve` for a review of the run's
// pull request, or a `/sop rework <text>` comment on it) answers the review gate waiting now — approved
// routes `approved`, changes requested and rework route `rejected` with the review in the next prompt — or,
// when no gate waits, goes into the next prompt. Reviews from people the gate does not allow are refused and
// recorded. Each delivery counts once. Deterministic workflow code: the inline comments of a review are read
// from the forge by an activity.
import { condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ReviewActivities } from '../../activities/review-comments';
import type { StepSpec } from '../../shapes/execution-plan';
import {
  FORGE_REVIEW_SHAPE,
  type ForgeReview,
  ForgeReviewSchema,
  type ReviewComment,
  type ReviewRecord,
  reviewerRefusal,
} from '../../shapes/forge-review';
import { parseMessageArg } from '../../shapes/message-args';
import { forgeReviewSignal } from '../../shapes/messages';
import type { RunContext } from './context';

/** Reviews reach gates and prompts (a run of an older build never has a review gate to answer). */
const FORGE_REVIEW_PATCH = 'forge-review-v1';
const REVIEWS_KEPT = 50;

const { readReviewComments } = proxyActivities<ReviewActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

/** What a review gate's answer carries about the review that gave it. */
export interface ReviewAnswer {
  approve: boolean;
  guidance?: string;
  review: Omit<ForgeReview, 'body'> & { body: string; comments?: ReviewComment[]; commentsProblem?: string };
}

export function installReviewHandler(ctx: RunContext): void {
  // a follow-up run: the review that started it answers the review gate it reruns, once that gate waits
  const early = ctx.input.restart?.rerun?.review;
  if (early) {
    void condition(() => ctx.human.reviewGate() !== undefined).then(() => receive(ctx, early));
  }
  setHandler(forgeReviewSignal, (arg) => {
    const parsed = parseMessageArg(ForgeReviewSchema, arg, 'forgeReview', FORGE_REVIEW_SHAPE);
    if (!parsed.ok) return log.warn(`ignored forgeReview signal: ${parsed.problem}`);
    receive(ctx, parsed.value);
  });
}

/** A review once: what becomes of it is recorded (a redelivery of a delivery seen before changes nothing). */
function receive(ctx: RunContext, review: ForgeReview): void {
  ctx.state.reviews ??= [];
  const reviews = ctx.state.reviews;
  if (reviews.some((r) => r.delivery === review.delivery)) {
    log.info(`forgeReview ${review.delivery} was delivered before: ignored`);
    return;
  }
  const record = takeReview(ctx, review);
  if (record.outcome === 'refused' || record.outcome === 'ignored')
    log.warn(`forgeReview ${review.delivery} from ${review.by} ${record.outcome}: ${record.reason}`);
  reviews.push(record);
  if (reviews.length > REVIEWS_KEPT) reviews.shift();
}

function takeReview(ctx: RunContext, review: ForgeReview): ReviewRecord {
  const base = {
    delivery: review.delivery,
    kind: review.kind,
    by: review.by,
    pullRequest: review.pullRequest,
  };
  const gates = ctx.plan.steps.filter((s: StepSpec) => s.input?.review);
  if (gates.length === 0) return { ...base, outcome: 'ignored', reason: 'this run has no review gate' };
  const gate = ctx.human.reviewGate();
  const allow = gate ? gate.allow : gates[0].input?.review?.allow;
  const refusal = reviewerRefusal(allow, review);
  if (refusal) return { ...base, outcome: 'refused', reason: refusal, ...(gate ? { step: gate.step } : {}) };
  const deciding = review.kind !== 'commented';
  if (gate && deciding) {
    const approve = review.kind === 'approved';
    const answer: ReviewAnswer = {
      approve,
      ...(approve ? {} : { guidance: review.body || `${review.by} requested changes without a comment` }),
      review,
    };
    ctx.human.answerGate(gate.requestId, answer);
    return { ...base, outcome: approve ? 'approved' : 'rejected', step: gate.step };
  }
  if (review.kind === 'approved')
    return { ...base, outcome: 'ignored', reason: 'no review gate was waiting for it' };
  if (!review.body.trim()) return { ...base, outcome: 'ignored', reason: 'an empty comment' };
  ctx.state.pendingMessages.push(reviewMessage(review));
  return {
    ...base,
    outcome: 'message',
    reason: gate
      ? 'a comment: it goes into the next prompt'
      : 'no review gate was waiting: into the next prompt',
  };
}

const what = (review: Pick<ForgeReview, 'kind' | 'by' | 'pullRequest'>) =>
  `${review.by} ${review.kind === 'changes_requested' ? 'requested changes' : review.kind === 'rework' ? 'asked for rework (/sop rework)' : review.kind === 'approved' ? 'approved' : 'commented'} on pull request #${review.pullRequest}`;

function reviewMessage(review: ForgeReview): string {
  return `Review: ${what(review)}: ${review.body}`;
}

/** Whether an answer is a review's rejection (changes requested), whose inline comments are worth reading. */
export function isReviewAnswer(value: unknown): value is ReviewAnswer {
  const review = (value as { review?: unknown } | null)?.review;
  return typeof review === 'object' && review !== null && 'delivery' in review;
}

/** The review's inline comments, read from the forge on the worker (a failure is noted, not fatal). */
export async function withInlineComments(ctx: RunContext, answer: ReviewAnswer): Promise<ReviewAnswer> {
  const { review } = answer;
  if (answer.approve || review.kind !== 'changes_requested' || review.reviewId === undefined) return answer;
  if (!ctx.isPatched(FORGE_REVIEW_PATCH)) return answer;
  try {
    const comments = await readReviewComments.executeWithOptions(
      {
        startToCloseTimeout: '1 minute',
        retry: { maximumAttempts: 3 },
        summary: `review ${review.reviewId}: inline comments`,
      },
      [{ repo: review.repo, pullRequest: review.pullRequest, reviewId: review.reviewId }],
    );
    return { ...answer, review: { ...review, comments } };
  } catch (err) {
    const message = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    return { ...answer, review: { ...review, commentsProblem: message } };
  }
}

/** What the step a review sends the work back to is told: who, the review's body and its inline comments. */
export function reviewFeedback(answer: ReviewAnswer, step: string): string[] {
  const { review } = answer;
  const lines = [
    `${what(review)} at the review gate ${step}${review.url ? ` (${review.url})` : ''}:`,
    answer.guidance ?? review.body,
  ];
  if (review.comments?.length) {
    lines.push('Inline comments:');
    for (const c of review.comments) lines.push(`- ${c.path}${c.line ? `:${c.line}` : ''}: ${c.body}`);
  }
  if (review.commentsProblem)
    lines.push(`(the review's inline comments could not be read: ${review.commentsProblem})`);
  return lines;
}
