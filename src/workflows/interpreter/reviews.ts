// Review feedback from the forge: the `forgeReview` signal (sent by `sop serve` for a review of the run's
// pull request, or a `/sop rework <text>` comment on it) answers the review gate waiting now — approved
// routes `approved`, changes requested and rework route `rejected` with the review in the next prompt — or,
// when no gate waits, goes into the next prompt. Any Temporal client can send the signal, so the run first
// confirms it with the forge by the review's (or comment's) id, through an activity on the worker: a signal
// the forge does not bear out (no such review, another author, state or pull request) is refused and
// recorded, and what the run records and routes on is the forge's answer. Reviews from people the gate does
// not allow are refused and recorded. Each delivery counts once. Deterministic workflow code.
import { ActivityFailure, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { ReviewActivities } from '../../activities/review-comments';
import type { StepSpec } from '../../shapes/execution-plan';
import {
  confirmedReview,
  FORGE_REVIEW_SHAPE,
  type ForgeReview,
  ForgeReviewSchema,
  forgeIdOf,
  type ReviewComment,
  type ReviewRecord,
  reviewerRefusal,
} from '../../shapes/forge-review';
import { parseMessageArg } from '../../shapes/message-args';
import { forgeReviewSignal } from '../../shapes/messages';
import type { RunContext } from './context';

/** Reviews reach gates and prompts (a run of an older build never has a review gate to answer). */
const FORGE_REVIEW_PATCH = 'forge-review-v1';
/** Each review is confirmed with the forge before it counts (patches.ts). */
const FORGE_REVIEW_CONFIRM_PATCH = 'forge-review-confirm-v1';
const REVIEWS_KEPT = 50;

const { readReviewComments, confirmReview } = proxyActivities<ReviewActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

/** What a review gate's answer carries about the review that gave it. */
export interface ReviewAnswer {
  approve: boolean;
  guidance?: string;
  review: Omit<ForgeReview, 'body'> & { body: string; comments?: ReviewComment[]; commentsProblem?: string };
}

/** Per run: the deliveries being confirmed now, and the confirmations in arrival order (one at a time). */
const confirming = new WeakMap<RunContext, { deliveries: Set<string>; queue: Promise<void> }>();

export function installReviewHandler(ctx: RunContext): void {
  // a follow-up run: the review that started it answers the review gate it reruns, once that gate waits
  const early = ctx.input.restart?.rerun?.review;
  if (early) {
    void condition(() => ctx.human.reviewGate() !== undefined).then(() => receive(ctx, early));
  }
  setHandler(forgeReviewSignal, async (arg) => {
    const parsed = parseMessageArg(ForgeReviewSchema, arg, 'forgeReview', FORGE_REVIEW_SHAPE);
    if (!parsed.ok) return log.warn(`ignored forgeReview signal: ${parsed.problem}`);
    await receive(ctx, parsed.value);
  });
}

/** A review once: what becomes of it is recorded (a redelivery of a delivery seen before changes nothing). */
async function receive(ctx: RunContext, review: ForgeReview): Promise<void> {
  ctx.state.reviews ??= [];
  const reviews = ctx.state.reviews;
  const turn = confirming.get(ctx) ?? { deliveries: new Set<string>(), queue: Promise.resolve() };
  confirming.set(ctx, turn);
  const seen = reviews.some((r) => r.delivery === review.delivery && !r.unconfirmed);
  if (seen || turn.deliveries.has(review.delivery)) {
    log.info(`forgeReview ${review.delivery} was delivered before: ignored`);
    return;
  }
  if (!ctx.isPatched(FORGE_REVIEW_CONFIRM_PATCH)) return keep(ctx, review, takeReview(ctx, review));
  turn.deliveries.add(review.delivery);
  const mine = turn.queue.then(async () => {
    const confirmed = await confirm(ctx, review);
    keep(
      ctx,
      review,
      'record' in confirmed ? confirmed.record : takeReview(ctx, confirmed.review, confirmed),
    );
  });
  turn.queue = mine.catch(() => undefined);
  try {
    await mine;
  } finally {
    turn.deliveries.delete(review.delivery);
  }
}

function keep(ctx: RunContext, review: ForgeReview, record: ReviewRecord): void {
  const reviews = ctx.state.reviews!;
  if (record.outcome === 'refused' || record.outcome === 'ignored')
    log.warn(`forgeReview ${review.delivery} from ${review.by} ${record.outcome}: ${record.reason}`);
  reviews.push(record);
  if (reviews.length > REVIEWS_KEPT) reviews.shift();
}

const recordBase = (review: ForgeReview) => ({
  delivery: review.delivery,
  kind: review.kind,
  by: review.by,
  pullRequest: review.pullRequest,
});

/**
 * The review as the forge confirms it, with a changes-requested review's inline comments; or the record of
 * its refusal (the forge has no such review, or the forge could not be asked).
 */
async function confirm(
  ctx: RunContext,
  review: ForgeReview,
): Promise<
  { review: ForgeReview; comments?: ReviewComment[]; commentsProblem?: string } | { record: ReviewRecord }
> {
  const refused = (reason: string, unconfirmed?: boolean): { record: ReviewRecord } => ({
    record: {
      ...recordBase(review),
      outcome: 'refused',
      reason,
      ...(unconfirmed ? { unconfirmed } : {}),
    },
  });
  if (!ctx.plan.steps.some((s: StepSpec) => s.input?.review))
    return { record: { ...recordBase(review), outcome: 'ignored', reason: 'this run has no review gate' } };
  const id = forgeIdOf(review);
  if ('refused' in id) return refused(id.refused);
  let answer: Awaited<ReturnType<typeof confirmReview>>;
  try {
    answer = await confirmReview.executeWithOptions(
      {
        startToCloseTimeout: '1 minute',
        // an unreachable forge is tried again (backoff 1 s doubling to 1 min: about two minutes) before the review is refused
        retry: { maximumAttempts: 8, maximumInterval: '1 minute' },
        summary: `${review.kind === 'rework' ? 'comment' : 'review'} ${id.id} by ${review.by}: confirm with the forge`,
      },
      [{ repo: review.repo, pullRequest: review.pullRequest, kind: review.kind, id: id.id }],
    );
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const message = (err.cause as Error | undefined)?.message ?? err.message;
    return refused(`the forge could not confirm it (redeliver the event once it answers): ${message}`, true);
  }
  const checked = confirmedReview(review, id.id, answer.record);
  if ('refused' in checked) return refused(checked.refused);
  return { review: checked.review, comments: answer.comments, commentsProblem: answer.commentsProblem };
}

/** What the review does (the gate's allow: decides who counts); `read`: its inline comments, when read. */
function takeReview(
  ctx: RunContext,
  review: ForgeReview,
  read: { comments?: ReviewComment[]; commentsProblem?: string } = {},
): ReviewRecord {
  const base = recordBase(review);
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
      review: {
        ...review,
        ...(read.comments ? { comments: read.comments } : {}),
        ...(read.commentsProblem ? { commentsProblem: read.commentsProblem } : {}),
      },
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
  // read with the review's confirmation already
  if (review.comments || review.commentsProblem) return answer;
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
