import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { WORKER_STOPPED } from '../model/contract';
import { deniedCallsText, describeDenial } from '../model/denial-text';
import type { Denial } from '../policies/denial';
import { RELAUNCH_TIMER, WORKER_LOSS_PATCH } from '../workflows/relaunch-ids';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** An SOP-level event rendered from the workflow history (what `sop logs --events` prints). */
export interface RunEvent {
  id: number;
  time: string;
  kind: string;
  text: string;
}

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
  const summaries = new Map<string, string>();
  const out: RunEvent[] = [];
  // runs with the worker-loss patch relaunch in the workflow: a timed-out agent activity is a lost worker
  let relaunching = false;
  for (const event of events) {
    const id = Number(event.eventId);
    const time = event.eventTime?.seconds
      ? new Date(Number(event.eventTime.seconds) * 1000).toISOString()
      : '';
    const push = (kind: string, text: string) => out.push({ id, time, kind, text });
    const summary = decode(event.userMetadata?.summary) as string | undefined;
    if (event.markerRecordedEventAttributes?.markerName === 'core_patch') {
      const patch = decode(event.markerRecordedEventAttributes.details?.['patch-data']?.payloads?.[0]) as
        | { id?: string }
        | undefined;
      if (patch?.id === WORKER_LOSS_PATCH) relaunching = true;
    } else if (event.workflowExecutionStartedEventAttributes) {
      push('run started', `${event.workflowExecutionStartedEventAttributes.workflowType?.name}`);
    } else if (event.activityTaskScheduledEventAttributes) {
      summaries.set(
        String(id),
        summary ?? event.activityTaskScheduledEventAttributes.activityType?.name ?? 'activity',
      );
      if (summary) push('step started', summary);
    } else if (event.activityTaskCompletedEventAttributes) {
      const attrs = event.activityTaskCompletedEventAttributes;
      const label = summaries.get(String(attrs.scheduledEventId));
      if (!label?.includes(' · ')) continue;
      const result = decode(attrs.result?.payloads?.[0]) as
        | {
            outcome?: { route?: string };
            outcomeError?: string;
            launchFailure?: string;
            exitCode?: number;
            usage?: { costUsd?: number };
            denials?: Denial[];
            deniedCalls?: number;
          }
        | undefined;
      if (result?.launchFailure) {
        push('launch failed', `${label}: ${result.launchFailure}`);
        continue;
      }
      let detail = '';
      if (result?.outcome?.route) detail = `route ${result.outcome.route}`;
      else if (result?.outcomeError) detail = `no outcome: ${result.outcomeError}`;
      else if (result?.exitCode !== undefined) detail = `exit ${result.exitCode}`;
      const denied = result?.deniedCalls ?? 0;
      if (denied > 0) detail += `${detail ? ', ' : ''}${deniedCallsText(denied)}`;
      push('step finished', `${label}${detail ? ` → ${detail}` : ''}`);
      for (const denial of result?.denials ?? []) push('denied', `${label}: ${describeDenial(denial)}`);
      const unlisted = denied - (result?.denials?.length ?? 0);
      if (unlisted > 0) push('denied', `${label}: ${unlisted} more in the execution's evidence.json`);
    } else if (event.activityTaskFailedEventAttributes) {
      const { scheduledEventId, failure } = event.activityTaskFailedEventAttributes;
      const label = summaries.get(String(scheduledEventId));
      const stopped = failure?.applicationFailureInfo?.type === WORKER_STOPPED;
      push(stopped ? 'worker lost' : 'step failed', `${label ?? 'activity'}: ${failure?.message}`);
    } else if (event.activityTaskTimedOutEventAttributes) {
      const { scheduledEventId, failure } = event.activityTaskTimedOutEventAttributes;
      const label = summaries.get(String(scheduledEventId));
      if (relaunching && label?.includes(' · ')) {
        push('worker lost', `${label ?? 'activity'}: ${failure?.message ?? 'timed out'}`);
      } else push('step timed out', label ?? 'activity');
    } else if (event.upsertWorkflowSearchAttributesEventAttributes) {
      const fields =
        event.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {};
      const status = decode(fields.SopStatus);
      if (status === 'waiting_input') push('input requested', 'the run waits for an answer (sop answer)');
      else if (status) push('status', String(status));
    } else if (event.workflowExecutionUpdateCompletedEventAttributes) {
      push('input answered', 'answer accepted');
    } else if (event.workflowExecutionSignaledEventAttributes) {
      const attrs = event.workflowExecutionSignaledEventAttributes;
      const value = decode(attrs.input?.payloads?.[0]);
      push(attrs.signalName === 'message' ? 'message' : `signal ${attrs.signalName}`, JSON.stringify(value));
    } else if (event.timerStartedEventAttributes && summary) {
      if (summary.startsWith(`${RELAUNCH_TIMER} `))
        push('relaunch', summary.slice(RELAUNCH_TIMER.length + 1));
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
  return out;
}

export async function fetchRunEvents(handle: WorkflowHandle): Promise<RunEvent[]> {
  const history = await handle.fetchHistory();
  return renderRunEvents(history.events ?? []);
}
