// Readers of the history events that carry most of a run's story: activities (steps, commands, answers
// recorded, launches failed, rate limits, lost workers), child runs, and signals. renderRunEvents
// (run-events.ts) hands each history event to the reader of its kind.

import type { temporal } from '@temporalio/proto';
import { RATE_LIMITED, type RateLimitDetails, WORKER_STOPPED } from '../shapes/contract';
import type { Denial } from '../shapes/denial';
import { deniedCallsText, describeDenial } from '../shapes/denial-text';
import { type ExecutionLabel, executionLabel } from '../shapes/execution-label';
import type { McpCall, McpCallCount } from '../shapes/mcp-call';
import type { AnswerInput, ChildStatus } from '../shapes/message-args';
import type { ToolApprovalAsk } from '../shapes/messages';
import { type QuotaNotice, quotaNoticeText } from '../shapes/quota';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type StepFields = ExecutionLabel;
type Attributes<K extends keyof HistoryEvent> = NonNullable<HistoryEvent[K]>;

/** What the readers learn as the history goes by. */
export interface Story {
  /** a label per scheduled activity or child run (by the event id that scheduled it) */
  summaries: Map<string, string>;
  /** the step fields of scheduled step activities and child runs (by the event id that scheduled them) */
  scheduled: Map<string, StepFields>;
  /**
   * runs that relaunch in the workflow (the worker-loss marker, or the launch's own input from engine 3
   * on): a timed-out agent activity is a lost worker
   */
  relaunching: boolean;
  /** per child run, the run a person was last awaited in, as its reports said (none: nobody) */
  childWaiting: Map<string, string | undefined>;
}

/** The structured fields of a rendered event (RunEvent): which execution, its route or exit code. */
export type EventFields = Partial<ExecutionLabel> & { route?: string; exitCode?: number };

/** The event being read: its id, its summary (user metadata), and how to add a rendered event. */
export interface At {
  id: number;
  summary: string | undefined;
  push(kind: string, text: string, fields?: EventFields): void;
}

export type Decode = (payload: unknown) => unknown;

export function childStarted(
  story: Story,
  at: At,
  decode: Decode,
  attrs: Attributes<'startChildWorkflowExecutionInitiatedEventAttributes'>,
): void {
  const { push } = at;
  const parent = decode(attrs.memo?.fields?.parent) as { step?: unknown; item?: unknown } | undefined;
  const type = attrs.workflowType?.name ?? 'sop';
  const fields: StepFields = {
    step: typeof parent?.step === 'string' ? parent.step : '?',
    ...(typeof parent?.item === 'string' ? { item: parent.item } : {}),
    role: `sop ${type}`,
  };
  const label = executionLabel(fields);
  story.summaries.set(String(at.id), label);
  story.scheduled.set(String(at.id), fields);
  push('child started', `${label} → ${attrs.workflowId}`, fields);
}

export function childEnded(story: Story, at: At, initiated: unknown, end: string, why?: string): void {
  const fields = story.scheduled.get(String(initiated));
  const label = story.summaries.get(String(initiated)) ?? 'child run';
  at.push('child ended', `${label} → ${end}${why ? `: ${why}` : ''}`, fields);
}

/** A step or command activity scheduled: its label, and whether the run relaunches in the workflow. */
export function activityScheduled(
  story: Story,
  at: At,
  decode: Decode,
  attrs: Attributes<'activityTaskScheduledEventAttributes'>,
): void {
  const { push, summary } = at;
  const fields = summary ? stepFields(decode(attrs.input?.payloads?.[0])) : undefined;
  const label = fields ? executionLabel(fields) : summary;
  story.summaries.set(String(at.id), label ?? attrs.activityType?.name ?? 'activity');
  if (fields) story.scheduled.set(String(at.id), fields);
  if (label) push('step started', label, fields);
  // engine 3 runs relaunch in the workflow without a marker: their agent launches say so in their input
  const input = decode(attrs.input?.payloads?.[0]) as { relaunchInWorkflow?: boolean } | undefined;
  if (input?.relaunchInWorkflow === true) story.relaunching = true;
}

/** An activity completed: an answer recorded, a launch failed, or a step finished (route, exit, denials). */
export function activityCompleted(
  story: Story,
  at: At,
  decode: Decode,
  attrs: Attributes<'activityTaskCompletedEventAttributes'>,
): void {
  const { push } = at;
  const label = story.summaries.get(String(attrs.scheduledEventId));
  if (label?.startsWith('answer ')) {
    const recorded = decode(attrs.result?.payloads?.[0]) as { by?: string; evidence?: string } | undefined;
    push(
      'answer recorded',
      `${label.slice('answer '.length)}${recorded?.by ? ` by ${recorded.by}` : ''}${recorded?.evidence ? ` (${recorded.evidence})` : ''}`,
    );
    return;
  }
  const fields = story.scheduled.get(String(attrs.scheduledEventId));
  if (!label?.includes(' · ')) return;
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
    return;
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
  for (const denial of result?.denials ?? []) push('denied', `${label}: ${describeDenial(denial)}`, fields);
  const unlisted = denied - (result?.denials?.length ?? 0);
  if (unlisted > 0) push('denied', `${label}: ${unlisted} more in the execution's evidence.json`, fields);
  for (const call of result?.mcpCalls ?? []) push('tool call', `${label}: ${describeMcpCall(call)}`, fields);
  const more = (result?.mcpCallCount?.calls ?? 0) - (result?.mcpCalls?.length ?? 0);
  if (more > 0) push('tool call', `${label}: ${more} more in the execution's evidence.json`, fields);
}

/** An activity failed: rate limited (the run parks), the worker stopped, or the step failed. */
export function activityFailed(
  story: Story,
  at: At,
  decode: Decode,
  attrs: Attributes<'activityTaskFailedEventAttributes'>,
): void {
  const { push } = at;
  const { scheduledEventId, failure } = attrs;
  const label = story.summaries.get(String(scheduledEventId));
  const fields = story.scheduled.get(String(scheduledEventId));
  const type = failure?.applicationFailureInfo?.type;
  if (type === RATE_LIMITED) {
    // a launch of its own: the provider refused it, the run parks until the reset time
    const parked = decode(failure?.applicationFailureInfo?.details?.payloads?.[0]) as
      | RateLimitDetails
      | undefined;
    const until = parked?.resetAtMs ? `parked until ${new Date(parked.resetAtMs).toISOString()}` : 'parked';
    push(
      'rate limited',
      `${label ?? 'activity'}: ${until} (${parked?.message ?? failure?.message})${parked?.evidence ? ` (${parked.evidence})` : ''}`,
      fields,
    );
    return;
  }
  push(
    type === WORKER_STOPPED ? 'worker lost' : 'step failed',
    `${label ?? 'activity'}: ${failure?.message}`,
    fields,
  );
}

export function activityTimedOut(
  story: Story,
  at: At,
  attrs: Attributes<'activityTaskTimedOutEventAttributes'>,
): void {
  const { push } = at;
  const { scheduledEventId, failure } = attrs;
  const label = story.summaries.get(String(scheduledEventId));
  const fields = story.scheduled.get(String(scheduledEventId));
  if (story.relaunching && label?.includes(' · ')) {
    push('worker lost', `${label ?? 'activity'}: ${failure?.message ?? 'timed out'}`, fields);
  } else push('step timed out', label ?? 'activity', fields);
}

/** Signals: tool approvals asked and withdrawn, child status, quota notices, answers by signal, messages. */
export function signaled(
  story: Story,
  at: At,
  decode: Decode,
  attrs: Attributes<'workflowExecutionSignaledEventAttributes'>,
): void {
  const { push } = at;
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
    childReported(story, at, value as ChildStatus | undefined);
  } else if (attrs.signalName === 'quotaNotice') {
    push('quota', quotaNoticeText(value as QuotaNotice));
  } else if (attrs.signalName === 'submitAnswer') {
    push('input answered', `${JSON.stringify((value as AnswerInput | undefined)?.value)}${by} (signal)`);
  } else {
    push(attrs.signalName === 'message' ? 'message' : `signal ${attrs.signalName}`, JSON.stringify(value));
  }
}

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

/** `tracker.get_issue: args 12 B sha256 1f2e3d4c…, result 240 B, 35 ms` (or `denied`). */
function describeMcpCall(call: McpCall): string {
  const took = call.durationMs === undefined ? '' : `, ${call.durationMs} ms`;
  const result = call.denied ? 'denied' : `result ${call.resultBytes} B`;
  return `${call.server}.${call.tool}: args ${call.argumentsBytes} B sha256 ${call.argumentsSha256.slice(0, 12)}…, ${result}${took}`;
}

/** A child's report: a person awaited in it (or no longer), or only what it has used so far. */
function childReported(story: Story, at: At, report: ChildStatus | undefined): void {
  const child = report?.child ?? '?';
  const waitingIn = report?.waitingIn?.workflowId;
  const before = story.childWaiting.get(child);
  story.childWaiting.set(child, waitingIn);
  if (waitingIn && waitingIn !== before)
    at.push('child status', `${child} waits for a person in ${waitingIn}`);
  else if (!waitingIn && before) at.push('child status', `${child} no longer waits for a person`);
  else if (report?.usage) {
    const u = report.usage;
    at.push('child usage', `${child} has used ${u.agentRuns} agent runs, $${u.costUsd.toFixed(4)} so far`);
  } else if (!report?.waitingIn) at.push('child status', `${child} no longer waits for a person`);
}
