import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { RATE_LIMITED, type RateLimitDetails, WORKER_STOPPED } from '../shapes/contract';
import type { Denial } from '../shapes/denial';
import { deniedCallsText, describeDenial } from '../shapes/denial-text';
import { type ExecutionLabel, executionLabel } from '../shapes/execution-label';
import type { McpCall, McpCallCount } from '../shapes/mcp-call';
import type { AnswerInput, ChildStatus } from '../shapes/message-args';
import type { ToolApprovalAsk } from '../shapes/messages';
import { RELAUNCH_TIMER, WORKER_LOSS_PATCH } from '../shapes/relaunch-ids';
import { workflowExecutions } from './executions';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * An SOP-level event rendered from the workflow history (what `sop logs --events` prints); step events carry
 * which step, worklist item, role, try and route as structured fields.
 */
export interface RunEvent extends Partial<ExecutionLabel> {
  id: number;
  /** ISO time with milliseconds */
  time: string;
  /** the same instant in ms since the epoch */
  timeMs: number;
  kind: string;
  text: string;
  route?: string;
  exitCode?: number;
}

type StepFields = ExecutionLabel;

/** What an agent or command activity's input says about the execution (AgentStepRequest, CommandStepRequest). */
function stepFields(input: unknown): StepFields | undefined {
  const request = input as
    | {
        step?: unknown;
        role?: unknown;
        attempt?: unknown;
        launch?: unknown;
        command?: unknown;
        spec?: { provider?: unknown };
        context?: { item?: { id?: unknown }; step?: { rework?: unknown } };
      }
    | undefined;
  if (typeof request?.step !== 'string') return undefined;
  const fields: StepFields = { step: request.step };
  if (typeof request.command === 'string') fields.role = 'command';
  if (typeof request.role === 'string') fields.role = request.role;
  if (typeof request.context?.item?.id === 'string') fields.item = request.context.item.id;
  if (typeof request.attempt === 'number') fields.attempt = request.attempt;
  if (typeof request.context?.step?.rework === 'number') fields.rework = request.context.step.rework;
  if (typeof request.spec?.provider === 'string') fields.provider = request.spec.provider;
  if (typeof request.launch === 'number') fields.launch = request.launch;
  return fields;
}

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
  const summaries = new Map<string, string>();
  const scheduled = new Map<string, StepFields>();
  const out: RunEvent[] = [];
  // runs that relaunch in the workflow (the worker-loss marker, or the launch's own input from engine 3 on):
  // a timed-out agent activity is a lost worker
  let relaunching = false;
  for (const event of events) {
    const id = Number(event.eventId);
    const timeMs = eventTimeMs(event);
    const time = timeMs ? new Date(timeMs).toISOString() : '';
    const push = (kind: string, text: string, fields: Partial<RunEvent> = {}) =>
      out.push({ id, time, timeMs, kind, text, ...fields });
    const summary = decode(event.userMetadata?.summary) as string | undefined;
    const childEnded = (initiated: unknown, end: string, why?: string) => {
      const fields = scheduled.get(String(initiated));
      const label = summaries.get(String(initiated)) ?? 'child run';
      push('child ended', `${label} → ${end}${why ? `: ${why}` : ''}`, fields);
    };
    if (event.markerRecordedEventAttributes?.markerName === 'core_patch') {
      const patch = decode(event.markerRecordedEventAttributes.details?.['patch-data']?.payloads?.[0]) as
        | { id?: string }
        | undefined;
      if (patch?.id === WORKER_LOSS_PATCH) relaunching = true;
    } else if (event.workflowExecutionStartedEventAttributes) {
      push('run started', `${event.workflowExecutionStartedEventAttributes.workflowType?.name}`);
    } else if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'recordAnswer') {
      summaries.set(String(id), summary ?? 'answer');
    } else if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'recordChildRun') {
      // the record of a child run: its start and end are the child workflow's own events
      summaries.set(String(id), 'child run record');
    } else if (event.startChildWorkflowExecutionInitiatedEventAttributes) {
      const attrs = event.startChildWorkflowExecutionInitiatedEventAttributes;
      const parent = decode(attrs.memo?.fields?.parent) as { step?: unknown; item?: unknown } | undefined;
      const type = attrs.workflowType?.name ?? 'sop';
      const fields: StepFields = {
        step: typeof parent?.step === 'string' ? parent.step : '?',
        ...(typeof parent?.item === 'string' ? { item: parent.item } : {}),
        role: `sop ${type}`,
      };
      const label = executionLabel(fields);
      summaries.set(String(id), label);
      scheduled.set(String(id), fields);
      push('child started', `${label} → ${attrs.workflowId}`, fields);
    } else if (event.childWorkflowExecutionCompletedEventAttributes) {
      childEnded(event.childWorkflowExecutionCompletedEventAttributes.initiatedEventId, 'completed');
    } else if (event.childWorkflowExecutionFailedEventAttributes) {
      const attrs = event.childWorkflowExecutionFailedEventAttributes;
      childEnded(attrs.initiatedEventId, 'failed', attrs.failure?.message ?? undefined);
    } else if (event.childWorkflowExecutionCanceledEventAttributes) {
      childEnded(event.childWorkflowExecutionCanceledEventAttributes.initiatedEventId, 'cancelled');
    } else if (event.childWorkflowExecutionTerminatedEventAttributes) {
      childEnded(event.childWorkflowExecutionTerminatedEventAttributes.initiatedEventId, 'terminated');
    } else if (event.startChildWorkflowExecutionFailedEventAttributes) {
      const attrs = event.startChildWorkflowExecutionFailedEventAttributes;
      childEnded(attrs.initiatedEventId, 'failed', `could not start (${attrs.workflowId} exists)`);
    } else if (event.activityTaskScheduledEventAttributes) {
      const fields = summary
        ? stepFields(decode(event.activityTaskScheduledEventAttributes.input?.payloads?.[0]))
        : undefined;
      const label = fields ? executionLabel(fields) : summary;
      summaries.set(
        String(id),
        label ?? event.activityTaskScheduledEventAttributes.activityType?.name ?? 'activity',
      );
      if (fields) scheduled.set(String(id), fields);
      if (label) push('step started', label, fields);
      // engine 3 runs relaunch in the workflow without a marker: their agent launches say so in their input
      const input = decode(event.activityTaskScheduledEventAttributes.input?.payloads?.[0]) as
        | { relaunchInWorkflow?: boolean }
        | undefined;
      if (input?.relaunchInWorkflow === true) relaunching = true;
    } else if (event.activityTaskCompletedEventAttributes) {
      const attrs = event.activityTaskCompletedEventAttributes;
      const label = summaries.get(String(attrs.scheduledEventId));
      if (label?.startsWith('answer ')) {
        const recorded = decode(attrs.result?.payloads?.[0]) as
          | { by?: string; evidence?: string }
          | undefined;
        push(
          'answer recorded',
          `${label.slice('answer '.length)}${recorded?.by ? ` by ${recorded.by}` : ''}${recorded?.evidence ? ` (${recorded.evidence})` : ''}`,
        );
        continue;
      }
      const fields = scheduled.get(String(attrs.scheduledEventId));
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
            mcpCalls?: McpCall[];
            mcpCallCount?: McpCallCount;
          }
        | undefined;
      if (result?.launchFailure) {
        push('launch failed', `${label}: ${result.launchFailure}`, fields);
        continue;
      }
      let detail = '';
      if (result?.outcome?.route) detail = `route ${result.outcome.route}`;
      else if (result?.outcomeError) detail = `no outcome: ${result.outcomeError}`;
      else if (result?.exitCode !== undefined) detail = `exit ${result.exitCode}`;
      const denied = result?.deniedCalls ?? 0;
      if (denied > 0) detail += `${detail ? ', ' : ''}${deniedCallsText(denied)}`;
      push('step finished', `${label}${detail ? ` → ${detail}` : ''}`, {
        ...fields,
        ...(result?.outcome?.route ? { route: result.outcome.route } : {}),
        ...(result?.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
      });
      for (const denial of result?.denials ?? [])
        push('denied', `${label}: ${describeDenial(denial)}`, fields);
      const unlisted = denied - (result?.denials?.length ?? 0);
      if (unlisted > 0) push('denied', `${label}: ${unlisted} more in the execution's evidence.json`, fields);
      for (const call of result?.mcpCalls ?? [])
        push('tool call', `${label}: ${describeMcpCall(call)}`, fields);
      const more = (result?.mcpCallCount?.calls ?? 0) - (result?.mcpCalls?.length ?? 0);
      if (more > 0) push('tool call', `${label}: ${more} more in the execution's evidence.json`, fields);
    } else if (event.activityTaskFailedEventAttributes) {
      const { scheduledEventId, failure } = event.activityTaskFailedEventAttributes;
      const label = summaries.get(String(scheduledEventId));
      const fields = scheduled.get(String(scheduledEventId));
      const type = failure?.applicationFailureInfo?.type;
      if (type === RATE_LIMITED) {
        // a launch of its own: the provider refused it, the run parks until the reset time
        const parked = decode(failure?.applicationFailureInfo?.details?.payloads?.[0]) as
          | RateLimitDetails
          | undefined;
        const until = parked?.resetAtMs
          ? `parked until ${new Date(parked.resetAtMs).toISOString()}`
          : 'parked';
        push(
          'rate limited',
          `${label ?? 'activity'}: ${until} (${parked?.message ?? failure?.message})${parked?.evidence ? ` (${parked.evidence})` : ''}`,
          fields,
        );
        continue;
      }
      push(
        type === WORKER_STOPPED ? 'worker lost' : 'step failed',
        `${label ?? 'activity'}: ${failure?.message}`,
        fields,
      );
    } else if (event.activityTaskTimedOutEventAttributes) {
      const { scheduledEventId, failure } = event.activityTaskTimedOutEventAttributes;
      const label = summaries.get(String(scheduledEventId));
      const fields = scheduled.get(String(scheduledEventId));
      if (relaunching && label?.includes(' · ')) {
        push('worker lost', `${label ?? 'activity'}: ${failure?.message ?? 'timed out'}`, fields);
      } else push('step timed out', label ?? 'activity', fields);
    } else if (event.upsertWorkflowSearchAttributesEventAttributes) {
      const fields =
        event.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {};
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
      const attrs = event.workflowExecutionSignaledEventAttributes;
      const value = decode(attrs.input?.payloads?.[0]);
      const by = attrs.identity ? ` by ${attrs.identity}` : '';
      if (attrs.signalName === 'toolApproval') {
        const ask = value as ToolApprovalAsk;
        push(
          'tool approval',
          `${ask.step}${ask.item ? ` [${ask.item}]` : ''}: ${ask.tool?.name} ${JSON.stringify(ask.tool?.input)} waits for a person (${ask.requestId})`,
        );
      } else if (attrs.signalName === 'toolApprovalWithdrawn') {
        const withdrawn = value as { requestId: string; reason: string };
        push('tool approval', `${withdrawn.requestId} withdrawn: ${withdrawn.reason}`);
      } else if (attrs.signalName === 'childStatus') {
        const report = value as ChildStatus | undefined;
        push(
          'child status',
          report?.waitingIn
            ? `${report.child} waits for a person in ${report.waitingIn.workflowId}`
            : `${report?.child} no longer waits for a person`,
        );
      } else if (attrs.signalName === 'submitAnswer') {
        push('input answered', `${JSON.stringify((value as AnswerInput | undefined)?.value)}${by} (signal)`);
      } else {
        push(
          attrs.signalName === 'message' ? 'message' : `signal ${attrs.signalName}`,
          JSON.stringify(value),
        );
      }
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

/** `tracker.get_issue: args 12 B sha256 1f2e3d4c…, result 240 B, 35 ms` (or `denied`). */
export function describeMcpCall(call: McpCall): string {
  const took = call.durationMs === undefined ? '' : `, ${call.durationMs} ms`;
  const result = call.denied ? 'denied' : `result ${call.resultBytes} B`;
  return `${call.server}.${call.tool}: args ${call.argumentsBytes} B sha256 ${call.argumentsSha256.slice(0, 12)}…, ${result}${took}`;
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
