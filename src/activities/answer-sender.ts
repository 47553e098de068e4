// Who sent an answer and when, as Temporal recorded it: the caller identity of the update that carried
// it (or of the submitAnswer signal). Read from the run's own history, so the record cannot be forged
// by the answer's arguments.

import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

export interface AnswerSender {
  by?: string;
  at?: string;
}

const timeOf = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  t?.seconds
    ? new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString()
    : undefined;

/** The update `updateId` (or, without one, the latest submitAnswer signal) in the run's history. */
export async function findAnswerSender(handle: WorkflowHandle, updateId?: string): Promise<AnswerSender> {
  const history = await handle.fetchHistory();
  let found: AnswerSender = {};
  for (const event of history.events ?? []) {
    const accepted = event.workflowExecutionUpdateAcceptedEventAttributes;
    if (updateId && accepted?.acceptedRequest?.meta?.updateId === updateId) {
      return { by: accepted.acceptedRequest.meta.identity ?? undefined, at: timeOf(event.eventTime) };
    }
    const signaled = event.workflowExecutionSignaledEventAttributes;
    if (!updateId && signaled?.signalName === 'submitAnswer') {
      found = { by: signaled.identity ?? undefined, at: timeOf(event.eventTime) };
    }
  }
  return found;
}

/**
 * Who answered each request that an answer named (`requestId`), from history: the `answer` updates the run
 * accepted and the `submitAnswer` signals it got (the first one: a request answered takes no second answer).
 */
export function answerSendersByRequest(
  events: temporal.api.history.v1.IHistoryEvent[],
): Map<string, AnswerSender> {
  const found = new Map<string, AnswerSender>();
  const requestIdOf = (payload: unknown): string | undefined => {
    try {
      const arg = payload ? defaultPayloadConverter.fromPayload(payload as never) : undefined;
      const id = (arg as { requestId?: unknown } | undefined)?.requestId;
      return typeof id === 'string' ? id : undefined;
    } catch {
      return undefined;
    }
  };
  for (const event of events) {
    const accepted = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    if (accepted?.input?.name === 'answer') {
      const id = requestIdOf(accepted.input.args?.payloads?.[0]);
      if (id && !found.has(id))
        found.set(id, { by: accepted.meta?.identity ?? undefined, at: timeOf(event.eventTime) });
    }
    const signaled = event.workflowExecutionSignaledEventAttributes;
    if (signaled?.signalName === 'submitAnswer') {
      const id = requestIdOf(signaled.input?.payloads?.[0]);
      if (id && !found.has(id))
        found.set(id, { by: signaled.identity ?? undefined, at: timeOf(event.eventTime) });
    }
  }
  return found;
}
