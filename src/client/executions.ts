import type { Client } from '@temporalio/client';

/**
 * Every execution (run id) of a workflow id, oldest first: the first run, each continue-as-new, and each
 * `sop resume` / `sop rerun` of the task. Visibility is eventually consistent, so the latest execution is
 * always included, listed or not. Throws the SDK's WorkflowNotFoundError when there is none.
 */
export async function workflowExecutions(client: Client, workflowId: string): Promise<string[]> {
  const runs: Array<{ runId: string; start: number }> = [];
  const escaped = workflowId.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  for await (const info of client.workflow.list({ query: `WorkflowId = "${escaped}"` }))
    runs.push({ runId: info.runId, start: info.startTime.getTime() });
  const latest = await client.workflow.getHandle(workflowId).describe();
  if (!runs.some((r) => r.runId === latest.runId))
    runs.push({ runId: latest.runId, start: latest.startTime.getTime() });
  return runs.sort((a, b) => a.start - b.start).map((r) => r.runId);
}
