// Where a review event on the shared GitHub hook goes (reviews.ts maps it): the running run owning the pull
// request gets the `forgeReview` signal; a finished one whose pull request is sent back (changes requested,
// `/sop rework`) gets a follow-up run: a rerun of the same task — the same run branch and pull request —
// from its review gate, which the review answers at once (so it routes `rejected` as in a running run).
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { SopClient } from '../client/sop-client';
import type { ExecutionPlan } from '../shapes/execution-plan';
import { type ForgeReview, reviewerRefusal } from '../shapes/forge-review';
import { forgeReviewSignal } from '../shapes/messages';
import type { HookDelivery, RoutedReview } from './ingress';
import { reviewRouting } from './reviews';

/** The memo of a follow-up run: the review that started it (a redelivery then starts nothing). */
interface FollowUpMemo {
  delivery: string;
  by: string;
  kind: ForgeReview['kind'];
  pullRequest: number;
}

export function createReviewRouter(sop: SopClient, client: Client) {
  return async (delivery: HookDelivery): Promise<RoutedReview | undefined> => {
    const routed = reviewRouting(delivery.event, delivery.delivery, delivery.payload);
    if (!routed) return undefined;
    if ('ignored' in routed) return { status: 'ignored', reason: routed.ignored };
    const { workflowId, review } = routed;
    const handle = client.workflow.getHandle(workflowId);
    let description: Awaited<ReturnType<typeof handle.describe>>;
    try {
      description = await handle.describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        return { status: 'ignored', reason: `no run ${workflowId} owns the pull request` };
      throw err;
    }
    // the review that started this execution (a follow-up), delivered again
    const memo = description.memo?.followUp as Partial<FollowUpMemo> | undefined;
    if (memo?.delivery === review.delivery)
      return { status: 'duplicate', workflowId, runId: description.runId };
    if (description.status.name === 'RUNNING') {
      await handle.signal(forgeReviewSignal, review);
      return { status: 'delivered', workflowId, runId: description.runId };
    }
    if (review.kind !== 'changes_requested' && review.kind !== 'rework')
      return {
        status: 'ignored',
        reason: `run ${workflowId} has finished (${description.status.name.toLowerCase()}); only changes requested or /sop rework start a follow-up run`,
      };
    const checkpoint = await sop.checkpoint(routed.sop, routed.task);
    const start = followUpStart(checkpoint.input.plan, review);
    if ('refused' in start) return { status: 'refused', workflowId, reason: start.refused };
    if ('ignored' in start) return { status: 'ignored', workflowId, reason: start.ignored };
    const followUp: FollowUpMemo = {
      delivery: review.delivery,
      by: review.by,
      kind: review.kind,
      pullRequest: review.pullRequest,
    };
    const started = await sop.restart(
      routed.sop,
      routed.task,
      { rerun: { step: start.step, review } },
      { followUp },
    );
    return {
      status: 'follow_up',
      workflowId,
      runId: (await started.describe()).runId,
      reason: `rerun from the review gate ${start.step}`,
    };
  };
}

/** The review gate a follow-up reruns, unless the plan has none or the gate does not let the reviewer decide. */
export function followUpStart(
  plan: ExecutionPlan,
  review: ForgeReview,
): { step: string } | { ignored: string } | { refused: string } {
  const gate = plan.steps.find((s) => s.input?.review);
  if (!gate) return { ignored: `${plan.sop} has no review gate, so a review starts no follow-up run` };
  const refusal = reviewerRefusal(gate.input?.review?.allow, review);
  if (refusal) return { refused: refusal };
  return { step: gate.name };
}
