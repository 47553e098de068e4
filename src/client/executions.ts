import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * Every execution (run id) of the task's current run, oldest first: its fresh start, each continue-as-new,
 * and each `sop resume` / `sop rerun` of it. An earlier run of the same task id (before a new start with
 * `rerun: true`, whose run folder is set aside) is not part of it. Visibility is eventually consistent, so
 * the latest execution is always included, listed or not. Throws the SDK's WorkflowNotFoundError when
 * there is none.
 */
export async function workflowExecutions(client: Client, workflowId: string): Promise<string[]> {
  const runs: Array<{ runId: string; start: number }> = [];
  const escaped = workflowId.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  for await (const info of client.workflow.list({ query: `WorkflowId = "${escaped}"` }))
    runs.push({ runId: info.runId, start: info.startTime.getTime() });
  const latest = await client.workflow.getHandle(workflowId).describe();
  if (!runs.some((r) => r.runId === latest.runId))
    runs.push({ runId: latest.runId, start: latest.startTime.getTime() });
  const ordered = runs.sort((a, b) => a.start - b.start).map((r) => r.runId);
  for (let i = ordered.length - 1; i > 0; i--) {
    if (await freshStart(client, workflowId, ordered[i])) return ordered.slice(i);
  }
  return ordered;
}

/** Whether the execution began a new run: not a continue-as-new, not a resume or rerun of an earlier one. */
async function freshStart(client: Client, workflowId: string, runId: string): Promise<boolean> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 1,
  });
  const started = history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started || started.continuedExecutionRunId) return false;
  let input: unknown;
  try {
    const payload = started.input?.payloads?.[0];
    input = payload ? defaultPayloadConverter.fromPayload(payload as never) : undefined;
  } catch {
    return false;
  }
  const fields = (input ?? {}) as { restart?: unknown; resume?: unknown };
  return fields.restart === undefined && fields.resume === undefined;
}

/** The history of every execution of the task's current run (workflowExecutions), oldest first. */
export async function runHistories(
  client: Client,
  workflowId: string,
): Promise<Array<{ runId: string; events: HistoryEvent[] }>> {
  const out = [];
  for (const runId of await workflowExecutions(client, workflowId)) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    out.push({ runId, events: history.events ?? [] });
  }
  return out;
}
