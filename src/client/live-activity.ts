// Reading what the agents of a run are doing right now: the heartbeat details of the workflow's pending
// agent activities (and its open child runs'), from one DescribeWorkflowExecution per workflow. Nothing is
// read from disk, so this works from any machine that reaches the Temporal server.

import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { type LiveAction, LiveActivity, type LiveExecution } from '../shapes/live-activity';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;

/** How deep open child runs (a `sop:` step's run, its children) are looked into. */
const CHILD_DEPTH = 3;

/** The running agent executions of `workflowId` and of its open child runs, each with its live view. */
export async function liveExecutions(
  client: Client,
  workflowId: string,
  options: { children?: boolean } = {},
  depth = 0,
): Promise<LiveExecution[]> {
  let described: temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse;
  try {
    described = await client.workflowService.describeWorkflowExecution({
      namespace: client.options.namespace,
      execution: { workflowId },
    });
  } catch (err) {
    // a child that closed between two looks, or a run not started yet: nothing running there
    if ((err as { code?: number }).code === 5) return [];
    throw err;
  }
  const runId = described.workflowExecutionInfo?.execution?.runId ?? '';
  const out: LiveExecution[] = [];
  for (const pending of described.pendingActivities ?? []) {
    const payload = pending.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    let details: unknown;
    try {
      details = defaultPayloadConverter.fromPayload(payload as never);
    } catch {
      continue;
    }
    const parsed = LiveActivity.safeParse(details);
    if (!parsed.success) continue;
    out.push({
      workflowId,
      runId,
      activityId: pending.activityId ?? '',
      activityAttempt: pending.attempt ?? 1,
      ...(pending.lastHeartbeatTime ? { lastHeartbeatAt: isoOf(pending.lastHeartbeatTime) } : {}),
      activity: parsed.data,
    });
  }
  if (options.children !== false && depth < CHILD_DEPTH) {
    for (const child of described.pendingChildren ?? []) {
      if (child.workflowId) out.push(...(await liveExecutions(client, child.workflowId, options, depth + 1)));
    }
  }
  return out;
}

function isoOf(ts: Timestamp): string {
  const seconds = Number(ts?.seconds ?? 0);
  return new Date(seconds * 1000 + Math.floor((ts?.nanos ?? 0) / 1e6)).toISOString();
}

/** One live action with where it happened, as `sop logs -f` and `sop runs watch` print it. */
export interface SeenAction {
  execution: LiveExecution;
  action: LiveAction;
  /** actions that fell out of the ring between two looks (only in the transcript) */
  missed: number;
}

/**
 * Remembers what was printed, per execution (workflow, activity and its attempt): each action is new once,
 * by its sequence number, however often the same heartbeat details are read.
 */
export class LiveActionTracker {
  private readonly printed = new Map<string, number>();

  newActions(executions: LiveExecution[]): SeenAction[] {
    const out: SeenAction[] = [];
    for (const execution of executions) {
      const key = `${execution.workflowId}\0${execution.runId}\0${execution.activityId}\0${execution.activityAttempt}`;
      const last = this.printed.get(key) ?? 0;
      const fresh = execution.activity.actions.filter((a) => a.seq > last);
      if (fresh.length === 0) continue;
      const missed = Math.max(0, fresh[0].seq - last - 1);
      fresh.forEach((action, i) => {
        out.push({ execution, action, missed: i === 0 ? missed : 0 });
      });
      this.printed.set(key, fresh[fresh.length - 1].seq);
    }
    return out;
  }
}

/** One line for an action: `$ npm test`, `✓ exit 0 npm test`, `+ src/a.ts`, `tool github.create_issue`, … */
export function actionText(action: LiveAction): string {
  switch (action.kind) {
    case 'command':
      if (action.phase === 'started') return `$ ${action.command}`;
      return `exit ${action.exitCode ?? '?'}: ${action.command}${action.output ? ` → ${action.output}` : ''}`;
    case 'file':
      return `${action.change} ${action.path}`;
    case 'tool': {
      const name = action.server ? `${action.server}.${action.tool}` : action.tool;
      if (action.phase === 'started') return `${name}${action.input ? ` ${action.input}` : ''}`;
      return `${name} ${action.error ? `failed: ${action.error}` : 'done'}`;
    }
    case 'denial':
      return `denied ${action.tool}: ${action.reason}`;
    case 'approval':
      return action.phase === 'asked'
        ? `approval asked: ${action.tool}${action.input ? ` ${action.input}` : ''}`
        : `approval ${action.approved ? 'given' : 'refused'}: ${action.tool}${action.by ? ` (by ${action.by})` : ''}`;
    case 'message':
      return `says: ${action.text}`;
  }
}

/** `fix · producer · 1` (and the item): which execution an action belongs to. */
export function liveLabel(activity: LiveActivity): string {
  return [activity.step, activity.item, activity.role, String(activity.attempt)]
    .filter((p) => p !== undefined)
    .join(' · ');
}

/** How often a follower reads the live views (the worker heartbeats them at most once a second). */
const LIVE_POLL_MS = 300;
/** At most 1000 / PER_RUN_MS describes a second however many runs are followed (50 runs: every second). */
const PER_RUN_MS = 20;

/**
 * Calls `onAction` with every new action of the running executions of `workflowIds()` (asked again each
 * round, so runs that start later are followed too) until `signal` aborts. A failed look is retried next
 * round: the live view is best-effort, the history stays the record.
 */
export async function followLiveActions(
  client: Client,
  workflowIds: () => Promise<string[]> | string[],
  onAction: (seen: SeenAction) => void,
  signal: AbortSignal,
  options: { children?: boolean; tracker?: LiveActionTracker } = {},
): Promise<void> {
  const tracker = options.tracker ?? new LiveActionTracker();
  while (!signal.aborted) {
    const started = Date.now();
    let pollMs = LIVE_POLL_MS;
    try {
      const ids = await workflowIds();
      // one describe per run a round: many runs are read less often, so a watcher stays light on the server
      pollMs = Math.max(LIVE_POLL_MS, ids.length * PER_RUN_MS);
      const executions = (
        await Promise.all(ids.map((id) => liveExecutions(client, id, { children: options.children })))
      ).flat();
      if (signal.aborted) return;
      for (const seen of tracker.newActions(executions)) onAction(seen);
    } catch {
      // the server unreachable for a moment: the next round tries again
    }
    await sleep(Math.max(0, pollMs - (Date.now() - started)), signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * The workflow ids of every running SOP run (child runs and `sop test` runs too), of one SOP if given: what
 * `sop runs watch` follows. From visibility, so new runs show up within its refresh.
 */
export async function runningRunIds(client: Client, sop?: string): Promise<string[]> {
  const clauses = ['SopName IS NOT NULL', 'ExecutionStatus = "Running"'];
  if (sop) clauses.push(`SopName = ${JSON.stringify(sop)}`);
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) ids.push(wf.workflowId);
  return ids;
}

/**
 * The last actions of agent executions that ended in `events` (their results carry the actions of their
 * final seconds, which a follower may not have read from a heartbeat in time), keyed as `liveExecutions`
 * keys them, so a LiveActionTracker prints only what it has not printed yet.
 */
export function endedExecutions(
  workflowId: string,
  runId: string,
  events: HistoryEvent[],
  /** only the executions that ended in the events from this index on (the ones before were read) */
  from = 0,
): LiveExecution[] {
  const scheduled = new Map<string, string>();
  const attempts = new Map<string, number>();
  const out: LiveExecution[] = [];
  for (const [index, event] of events.entries()) {
    const id = String(event.eventId ?? '');
    if (event.activityTaskScheduledEventAttributes) {
      scheduled.set(id, event.activityTaskScheduledEventAttributes.activityId ?? '');
    } else if (event.activityTaskStartedEventAttributes) {
      attempts.set(id, event.activityTaskStartedEventAttributes.attempt ?? 1);
    } else if (event.activityTaskCompletedEventAttributes && index >= from) {
      const done = event.activityTaskCompletedEventAttributes;
      const payload = done.result?.payloads?.[0];
      if (!payload) continue;
      let result: unknown;
      try {
        result = defaultPayloadConverter.fromPayload(payload as never);
      } catch {
        continue;
      }
      const parsed = LiveActivity.safeParse((result as { live?: unknown } | null)?.live);
      if (!parsed.success) continue;
      out.push({
        workflowId,
        runId,
        activityId: scheduled.get(String(done.scheduledEventId ?? '')) ?? '',
        activityAttempt: attempts.get(String(done.startedEventId ?? '')) ?? 1,
        activity: parsed.data,
      });
    }
  }
  return out;
}
