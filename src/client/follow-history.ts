// `sop logs --follow` without re-reading whole histories: the events of a workflow id's executions as they
// are written, through the server's history long poll (GetWorkflowExecutionHistory with waitNewEvent), and
// on to the next execution when one continues as new or is resumed.
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { workflowExecutions } from './executions';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * Yields the events of every execution of `workflowId` in order, each batch as soon as the server has it;
 * returns once the latest execution has closed and no newer one exists. `runId` marks where a batch starts.
 */
export async function* followHistory(
  client: Client,
  workflowId: string,
): AsyncGenerator<{ runId: string; events: HistoryEvent[] }> {
  const done = new Set<string>();
  for (;;) {
    const pending = (await workflowExecutions(client, workflowId)).filter((id) => !done.has(id));
    if (pending.length === 0) return;
    for (const runId of pending) {
      yield* executionEvents(client, workflowId, runId);
      done.add(runId);
    }
  }
}

async function* executionEvents(
  client: Client,
  workflowId: string,
  runId: string,
): AsyncGenerator<{ runId: string; events: HistoryEvent[] }> {
  let nextPageToken: Uint8Array | undefined;
  for (;;) {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      nextPageToken,
      // an open execution answers when it has new events (or after the server's poll interval, empty)
      waitNewEvent: true,
    });
    const events = page.history?.events ?? [];
    if (events.length > 0) yield { runId, events };
    // no token: the execution has closed and every event was sent
    if (!page.nextPageToken?.length) return;
    nextPageToken = page.nextPageToken;
  }
}
