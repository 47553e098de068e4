// The quota workflows' two effects (src/workflows/quota.ts): starting a key's workflow with a run's first ask
// (signal-with-start: whoever asks first starts it, on the asking run's task queue), and telling which holders'
// runs have ended without giving their lease back.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { QUOTA_WORKFLOW_TYPE, type QuotaAsk, quotaAskSignal, quotaWorkflowId } from '../shapes/quota';

export type QuotaActivities = typeof quotaActivities;

export const quotaActivities = {
  /** Asks `ask.key` for a lease, starting the key's workflow on `taskQueue` when it is not running. */
  async askQuota(ask: QuotaAsk, taskQueue: string): Promise<void> {
    const { client } = Context.current();
    await client.workflow.signalWithStart(QUOTA_WORKFLOW_TYPE, {
      workflowId: quotaWorkflowId(ask.key),
      taskQueue,
      args: [{ key: ask.key }],
      signal: quotaAskSignal,
      signalArgs: [ask],
    });
  },

  /** The leases whose run (that very execution) is no longer running. */
  async closedHolders(
    holders: Array<{ leaseId: string; workflowId: string; runId: string }>,
  ): Promise<string[]> {
    const { client } = Context.current();
    const ended: string[] = [];
    for (const h of holders) {
      try {
        const description = await client.workflow.getHandle(h.workflowId, h.runId).describe();
        if (description.status.name !== 'RUNNING') ended.push(h.leaseId);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) ended.push(h.leaseId);
        else throw err;
      }
    }
    return ended;
  },
};
