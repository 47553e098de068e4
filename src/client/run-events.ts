import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { AnswerInput } from '../shapes/message-args';
import { RELAUNCH_TIMER, WORKER_LOSS_PATCH } from '../shapes/relaunch-ids';
import { workflowExecutions } from './executions';
import {
  type At,
  activityCompleted,
  activityFailed,
  activityScheduled,
  activityTimedOut,
  childEnded,
  childStarted,
  type EventFields,
  type Story,
  signaled,
} from './run-event-readers';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * An SOP-level event rendered from the workflow history (what `sop logs --events` prints); step events carry
 * which step, worklist item, role, try and route as structured fields.
 */
export type RunEvent = EventFields & {
  id: number;
  /** ISO time with milliseconds */
  time: string;
  /** the same instant in ms since the epoch */
  timeMs: number;
  kind: string;
  text: string;
};

const eventTimeMs = (event: HistoryEvent): number =>
  event.eventTime?.seconds
    ? Number(event.eventTime.seconds) * 1000 + Math.floor((event.eventTime.nanos ?? 0) / 1e6)
    : 0;

const decode = (payload: unknown): unknown => {
  try {
    return payload ? defaultPayloadConverter.fromPayload(payload as never) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Turns raw history events into the run's story: steps started and finished (with the route the outcome
 * named), commands, input requested and answered, messages, status changes, and how the run ended.
 */
export function renderRunEvents(events: HistoryEvent[]): RunEvent[] {
  const story: Story = {
    summaries: new Map(),
    scheduled: new Map(),
    relaunching: false,
    childWaiting: new Map(),
  };
  const out: RunEvent[] = [];
  for (const event of events) {
    const id = Number(event.eventId);
    const timeMs = eventTimeMs(event);
    const time = timeMs ? new Date(timeMs).toISOString() : '';
    const at: At = {
      id,
      summary: decode(event.userMetadata?.summary) as string | undefined,
      push: (kind, text, fields = {}) => {
        out.push({ id, time, timeMs, kind, text, ...fields });
      },
    };
    readEvent(story, at, event);
  }
  return out;
}

/** Hands one history event to the reader of its kind (events of other kinds tell nothing). */
function readEvent(story: Story, at: At, event: HistoryEvent): void {
  const { id, push, summary } = at;
  if (event.markerRecordedEventAttributes?.markerName === 'core_patch') {
    const patch = decode(event.markerRecordedEventAttributes.details?.['patch-data']?.payloads?.[0]) as
      | { id?: string }
      | undefined;
    if (patch?.id === WORKER_LOSS_PATCH) story.relaunching = true;
  } else if (event.workflowExecutionStartedEventAttributes) {
    push('run started', `${event.workflowExecutionStartedEventAttributes.workflowType?.name}`);
  } else if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'recordAnswer') {
    story.summaries.set(String(id), summary ?? 'answer');
  } else if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'recordChildRun') {
    // the record of a child run: its start and end are the child workflow's own events
    story.summaries.set(String(id), 'child run record');
  } else if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
    childStarted(story, at, decode, event.startChildWorkflowExecutionInitiatedEventAttributes);
  } else if (event.childWorkflowExecutionCompletedEventAttributes) {
    childEnded(story, at, event.childWorkflowExecutionCompletedEventAttributes.initiatedEventId, 'completed');
  } else if (event.childWorkflowExecutionFailedEventAttributes) {
    const attrs = event.childWorkflowExecutionFailedEventAttributes;
    childEnded(story, at, attrs.initiatedEventId, 'failed', attrs.failure?.message ?? undefined);
  } else if (event.childWorkflowExecutionCanceledEventAttributes) {
    childEnded(story, at, event.childWorkflowExecutionCanceledEventAttributes.initiatedEventId, 'cancelled');
  } else if (event.childWorkflowExecutionTerminatedEventAttributes) {
    childEnded(
      story,
      at,
      event.childWorkflowExecutionTerminatedEventAttributes.initiatedEventId,
      'terminated',
    );
  } else if (event.startChildWorkflowExecutionFailedEventAttributes) {
    const attrs = event.startChildWorkflowExecutionFailedEventAttributes;
    childEnded(story, at, attrs.initiatedEventId, 'failed', `could not start (${attrs.workflowId} exists)`);
  } else if (event.activityTaskScheduledEventAttributes) {
    activityScheduled(story, at, decode, event.activityTaskScheduledEventAttributes);
  } else if (event.activityTaskCompletedEventAttributes) {
    activityCompleted(story, at, decode, event.activityTaskCompletedEventAttributes);
  } else if (event.activityTaskFailedEventAttributes) {
    activityFailed(story, at, decode, event.activityTaskFailedEventAttributes);
  } else if (event.activityTaskTimedOutEventAttributes) {
    activityTimedOut(story, at, event.activityTaskTimedOutEventAttributes);
  } else if (event.upsertWorkflowSearchAttributesEventAttributes) {
    const fields = event.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {};
    const status = decode(fields.SopStatus);
    if (status === 'waiting_input') push('input requested', 'the run waits for an answer (sop answer)');
    else if (status) push('status', String(status));
  } else if (event.workflowExecutionUpdateAcceptedEventAttributes) {
    const request = event.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest;
    const answer = decode(request?.input?.args?.payloads?.[0]) as AnswerInput | undefined;
    const by = request?.meta?.identity ? ` by ${request.meta.identity}` : '';
    push(
      'input answered',
      `${answer?.requestId ? `${answer.requestId}: ` : ''}${JSON.stringify(answer?.value)}${by}`,
    );
  } else if (event.workflowExecutionSignaledEventAttributes) {
    signaled(story, at, decode, event.workflowExecutionSignaledEventAttributes);
  } else if (event.timerStartedEventAttributes && summary) {
    if (summary.startsWith(`${RELAUNCH_TIMER} `)) push('relaunch', summary.slice(RELAUNCH_TIMER.length + 1));
    else push('parked', summary);
  } else if (event.workflowExecutionCompletedEventAttributes) {
    push('run completed', '');
  } else if (event.workflowExecutionFailedEventAttributes) {
    push('run failed', event.workflowExecutionFailedEventAttributes.failure?.message ?? '');
  } else if (event.workflowExecutionCanceledEventAttributes) {
    push('run cancelled', '');
  } else if (event.workflowExecutionContinuedAsNewEventAttributes) {
    push('continued as new', 'the run goes on in a fresh history');
  } else if (event.workflowExecutionTerminatedEventAttributes) {
    push('run terminated', event.workflowExecutionTerminatedEventAttributes.reason ?? '');
  }
}

/** The events of every execution of the run (continue-as-new, resume, rerun), oldest first. */
export async function fetchRunEvents(client: Client, handle: WorkflowHandle): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for (const runId of await workflowExecutions(client, handle.workflowId)) {
    const history = await client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    events.push(...renderRunEvents(history.events ?? []));
  }
  return events;
}
