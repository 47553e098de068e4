// Where a review event on the shared GitHub hook goes (reviews.ts maps it): the running run owning the pull
// request gets the `forgeReview` signal; a finished one whose pull request is sent back (changes requested,
// `/sop rework`) gets a follow-up run: a rerun of the same task — the same run branch and pull request —
// from the step its review gate's `rejected` route leads to, with the review in that step's prompt.
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { SopClient } from '../client/sop-client';
import type { ExecutionPlan } from '../shapes/execution-plan';
import { type ForgeReview, reviewerRefusal } from '../shapes/forge-review';
import { forgeReviewSignal } from '../shapes/messages';
import type { HookDelivery, RoutedReview } from './ingress';
import { reviewRouting } from './reviews';

/** The memo of a follow-up run: the review that started it (a redelivery then starts nothing). */
export interface FollowUpMemo {
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
      { rerun: { step: start.step, context: start.context } },
      { followUp },
    );
    return {
      status: 'follow_up',
      workflowId,
      runId: (await started.describe()).runId,
      reason: `rerun from ${start.step}`,
    };
  };
}

/** The step a follow-up reruns (where the review gate's `rejected` route leads) and what it is told. */
export function followUpStart(
  plan: ExecutionPlan,
  review: ForgeReview,
): { step: string; context: string } | { ignored: string } | { refused: string } {
  const gate = plan.steps.find((s) => s.input?.review);
  if (!gate) return { ignored: `${plan.sop} has no review gate, so a review starts no follow-up run` };
  const refusal = reviewerRefusal(gate.input?.review?.allow, review);
  if (refusal) return { refused: refusal };
  const rejected = gate.routes.find((r) => r.name === 'rejected')?.target;
  if (rejected?.kind !== 'step')
    return { ignored: `the review gate ${gate.name} sends rejected work nowhere to rework it` };
  const what = review.kind === 'rework' ? 'asked for rework (/sop rework)' : 'requested changes';
  const context = [
    `${review.by} ${what} on pull request #${review.pullRequest} after the run finished${review.url ? ` (${review.url})` : ''}:`,
    review.body || '(no comment)',
  ].join('\n');
  return { step: rejected.step, context };
}
