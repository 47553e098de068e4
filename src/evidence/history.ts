import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { workflowExecutions } from '../client/executions';
import { RATE_LIMITED } from '../shapes/contract';
import { executionFolder } from '../shapes/execution-folder';

// What Temporal's history says about a run folder, for `sop verify --against-history`:
// - each evidence.json's sha256: every agent activity's result carries it (a launch the provider rate-limited
//   carries it in its failure's details), so do the answer and child-run records;
// - each executions.jsonl line: the activity that appended it was scheduled with the step, item, role,
//   attempt and launch, and reported the route, usage and path (and, from this version on, the line's sha256);
// - run.json's final stamp: what finishRun stamped and the file's sha256 (from this version on), else how the
//   latest execution ended (its result, failure or cancellation);
// - each command step's output log's sha256 (from this version on);
// - the files the runtime itself rewrites after agents wrote them (worklist sources), from the run's plan.

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Where in history something was recorded. */
export interface Recorded {
  runId: string;
  eventId: number;
}

interface HistoryRecord extends Recorded {
  sha256: string;
}

/** An executions.jsonl line as history knows it. */
export interface HistoryLine extends Recorded {
  /** the line's `path` field */
  path: string;
  /** the fields of the line history holds, with the values the line must have */
  fields: Record<string, unknown>;
  /** sha256 of the whole line, when the activity reported it */
  sha256?: string;
  /** the activity may have ended before it wrote the line (it never reported back) */
  optional?: boolean;
}

/** run.json's final stamp as history knows it. */
interface HistoryStamp extends Recorded {
  fields: Record<string, unknown>;
  /** sha256 of run.json as stamped, when the activity reported it */
  sha256?: string;
  /** where the fields come from */
  source: string;
}

export interface HistoryEvidence {
  /** run-folder-relative evidence.json path → the sha256 the activity reported */
  records: Map<string, HistoryRecord>;
  /** run-folder-relative command output logs → their sha256 */
  outputs: Map<string, HistoryRecord>;
  /** executions.jsonl lines by their `path` field */
  lines: Map<string, HistoryLine>;
  /** run.json's final stamp; absent when the latest execution has none (running, terminated, timed out) */
  stamp?: HistoryStamp;
  /** how the latest execution stands: running, completed, failed, cancelled, terminated, timed out */
  latest: { runId: string; status: string };
  /** run-folder-relative files the runtime rewrites after agents wrote them (worklist sources) */
  runtimeWritten: Set<string>;
  /** executions of the workflow id read (first runs, continue-as-new runs, resumes, reruns) */
  runs: number;
}

const decode = (payload: unknown): unknown => {
  try {
    return payload ? defaultPayloadConverter.fromPayload(payload as never) : undefined;
  } catch {
    return undefined;
  }
};

interface PlanLike {
  artifacts?: Array<{ name: string; path: string }>;
  worklists?: Array<{ from: string }>;
}

/** Reads every execution of the workflow id, oldest first. */
export async function readHistoryEvidence(client: Client, workflowId: string): Promise<HistoryEvidence> {
  const runIds = await workflowExecutions(client, workflowId);
  const result: HistoryEvidence = {
    records: new Map(),
    outputs: new Map(),
    lines: new Map(),
    latest: { runId: runIds[runIds.length - 1], status: 'running' },
    runtimeWritten: new Set(),
    runs: runIds.length,
  };
  for (const runId of runIds) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    collectRun(history.events ?? [], runId, result);
  }
  return result;
}

/** An activity as history shows it: its type, input, the attempt that ended it, and its result or failure. */
interface ActivityEnd {
  type: string;
  input?: Record<string, unknown>;
  attempt?: number;
  result?: Record<string, unknown>;
  /** a failure's details (a rate-limited launch) */
  details?: Record<string, unknown>;
  /** it reported back (completed); otherwise it failed, timed out or was cancelled */
  completed: boolean;
  at: Recorded;
}

/** The activities that resolve a run request (and provision its workspace) before the run begins. */
const BEFORE_THE_RUN = new Set(['resolveRunRequest', 'provisionWorkspace']);

/** Collects one execution's events into `into`; exported for tests over recorded histories. */
export function collectRun(events: HistoryEvent[], runId: string, into: HistoryEvidence): void {
  const scheduled = new Map<number, { type: string; input?: Record<string, unknown> }>();
  const attempts = new Map<number, number>();
  into.latest = { runId, status: 'running' };
  into.stamp = undefined;
  let closing: HistoryStamp | undefined;
  for (const event of events) {
    const eventId = Number(event.eventId);
    const at = { runId, eventId };
    const started = event.workflowExecutionStartedEventAttributes;
    if (started) {
      const input = decode(started.input?.payloads?.[0]) as { plan?: PlanLike } | undefined;
      if (input?.plan) addRuntimeWritten(input.plan, into.runtimeWritten);
      continue;
    }
    const s = event.activityTaskScheduledEventAttributes;
    if (s) {
      const input = decode(s.input?.payloads?.[0]) as Record<string, unknown> | undefined;
      scheduled.set(eventId, { type: s.activityType?.name ?? '', input });
      continue;
    }
    const st = event.activityTaskStartedEventAttributes;
    if (st) {
      attempts.set(Number(st.scheduledEventId), st.attempt ?? 1);
      continue;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    const failed = event.activityTaskFailedEventAttributes;
    const other = event.activityTaskTimedOutEventAttributes ?? event.activityTaskCanceledEventAttributes;
    if (completed || failed || other) {
      const id = Number((completed ?? failed ?? other)!.scheduledEventId);
      const of = scheduled.get(id);
      const failure = failed?.failure?.applicationFailureInfo;
      const end: ActivityEnd = {
        type: of?.type ?? '',
        input: of?.input,
        attempt: attempts.get(id),
        completed: Boolean(completed),
        result: completed ? (decode(completed.result?.payloads?.[0]) as Record<string, unknown>) : undefined,
        details:
          failure?.type === RATE_LIMITED
            ? (decode(failure.details?.payloads?.[0]) as Record<string, unknown>)
            : undefined,
        at,
      };
      collectActivity(end, into);
      continue;
    }
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity') {
      const data = decode(marker.details?.data?.payloads?.[0]) as { activity_type?: string } | undefined;
      const result = decode(marker.details?.result?.payloads?.[0]) as Record<string, unknown> | undefined;
      collectActivity({ type: data?.activity_type ?? '', result, completed: true, at }, into);
      continue;
    }
    const ended = closingOf(event, at);
    if (ended) {
      into.latest = { runId, status: ended.status };
      closing = ended.stamp;
    }
  }
  // a finishRun from before it reported its stamp: what the run's end says. An execution refused before its
  // run began (a bad run request, an unknown SOP: nothing but resolving ran) wrote no run.json to compare.
  const began = [...scheduled.values()].some((s) => !BEFORE_THE_RUN.has(s.type));
  if (!into.stamp && closing && into.latest.status !== 'running' && began) into.stamp = closing;
}

/** How an execution ended, and what its closing event says run.json's stamp holds. */
function closingOf(event: HistoryEvent, at: Recorded): { status: string; stamp?: HistoryStamp } | undefined {
  const completed = event.workflowExecutionCompletedEventAttributes;
  if (completed) {
    const result = (decode(completed.result?.payloads?.[0]) ?? {}) as Record<string, unknown>;
    const fields: Record<string, unknown> = { status: 'completed', failure: null };
    for (const key of ['routesTaken', 'usage', 'deniedCalls', 'denials'])
      if (result[key] !== undefined) fields[key] = result[key];
    return { status: 'completed', stamp: { ...at, fields, source: "the run's result" } };
  }
  const failed = event.workflowExecutionFailedEventAttributes;
  if (failed)
    return {
      status: 'failed',
      stamp: {
        ...at,
        fields: { status: 'failed', failure: failed.failure?.message ?? null },
        source: "the run's failure",
      },
    };
  if (event.workflowExecutionCanceledEventAttributes)
    return {
      status: 'cancelled',
      stamp: { ...at, fields: { status: 'cancelled', failure: null }, source: "the run's cancellation" },
    };
  if (event.workflowExecutionTerminatedEventAttributes) return { status: 'terminated' };
  if (event.workflowExecutionTimedOutEventAttributes) return { status: 'timed out' };
  if (event.workflowExecutionContinuedAsNewEventAttributes) return { status: 'continued as new' };
  return undefined;
}

function addRuntimeWritten(plan: PlanLike, into: Set<string>): void {
  for (const worklist of plan.worklists ?? []) {
    const artifact = plan.artifacts?.find((a) => a.name === worklist.from);
    const match = artifact && /^\{\{\s*run\.folder\s*\}\}\/(.+)$/.exec(artifact.path);
    if (match && !match[1].includes('{{')) into.add(match[1]);
  }
}

/** What one activity that ended says about the run folder. */
function collectActivity(end: ActivityEnd, into: HistoryEvidence): void {
  const result = end.result ?? end.details;
  const { plan } = (result ?? {}) as { plan?: PlanLike & { steps?: unknown } };
  // a plan resolved by an activity (a run started by reference): the result, or its `plan`
  const resolved = plan ?? (result as (PlanLike & { steps?: unknown }) | undefined);
  if (resolved?.worklists && resolved.artifacts && resolved.steps)
    addRuntimeWritten(resolved, into.runtimeWritten);
  if (end.type === 'finishRun') collectStamp(end, into);
  if (!result) {
    // one that never reported back may or may not have recorded the lost launches before it
    for (const line of expectedLines(end, undefined))
      into.lines.set(line.path, end.completed ? line : { ...line, optional: true });
    return;
  }
  const evidence = (result.files as { evidence?: string } | undefined)?.evidence ?? result.evidence;
  if (typeof evidence === 'string' && typeof result.evidenceSha256 === 'string')
    into.records.set(evidence, { sha256: result.evidenceSha256, ...end.at });
  for (const line of expectedLines(end, typeof evidence === 'string' ? evidence : undefined))
    into.lines.set(line.path, line);
  // the sha256 of every line the activity appended (runs from this version on)
  for (const written of (result.lines as Array<{ path: string; sha256: string }> | undefined) ?? []) {
    const known = into.lines.get(written.path);
    into.lines.set(written.path, {
      path: written.path,
      fields: {},
      ...known,
      ...end.at,
      sha256: written.sha256,
    });
  }
  if (end.type === 'runCommandStep' && typeof result.outputSha256 === 'string')
    into.outputs.set(String(result.outputFile), { sha256: result.outputSha256, ...end.at });
}

/** finishRun: what it stamped (its result from this version on; engine 1 runs: its input) and the sha256. */
function collectStamp(end: ActivityEnd, into: HistoryEvidence): void {
  const stamped = (end.result ?? {}) as { end?: Record<string, unknown>; runJsonSha256?: string };
  const stampedEnd = stamped.end ?? (end.input?.end as Record<string, unknown> | undefined);
  if (stampedEnd)
    into.stamp = {
      fields: stampFields(stampedEnd),
      sha256: stamped.runJsonSha256,
      source: "the run's final stamp",
      ...end.at,
    };
}

/** The fields finishRunSummary writes from a RunEnd, as it writes them. */
function stampFields(end: Record<string, unknown>): Record<string, unknown> {
  return {
    status: end.status,
    failure: end.failure ?? null,
    usage: end.usage,
    // what the child runs of kind: sop steps used, when the run had any
    ...(end.childUsage ? { childUsage: end.childUsage } : {}),
    deniedCalls: end.deniedCalls ?? 0,
    denials: end.denials ?? [],
    routesTaken: end.routesTaken,
    // a run with deliveries: its pull request, forge writes and refused agent requests
    ...(end.forge ? { forge: end.forge } : {}),
  };
}

/** The executions.jsonl lines an ended activity wrote, with the fields history holds for each. */
function expectedLines(end: ActivityEnd, evidence: string | undefined): HistoryLine[] {
  const input = end.input ?? {};
  const result = end.result ?? {};
  const item = (input.item as string | undefined) ?? null;
  const folderOf = (file: string) => path.posix.dirname(file);
  const lost = (input.lostLaunches ?? result.lostLaunches ?? []) as Array<{
    step: string;
    item?: string;
    role: string;
    attempt: number;
    launch: number;
    execution: number;
  }>;
  const lines: HistoryLine[] = lost.map((l) => ({
    path: `steps/${executionFolder({ ...l, item: l.item === undefined ? undefined : { id: l.item } }, l.execution, l.launch)}`,
    fields: {
      kind: 'agent',
      step: l.step,
      item: l.item ?? null,
      role: l.role,
      attempt: l.attempt,
      launch: l.launch,
      route: null,
      workerLost: true,
    },
    ...end.at,
  }));
  if (end.type === 'runAgentStep' && evidence) {
    const context = input.context as { item?: { id?: string } } | undefined;
    const outcome = result.outcome as { route?: string } | undefined;
    lines.push({
      path: folderOf(evidence),
      fields: {
        kind: 'agent',
        step: input.step,
        item: context?.item?.id ?? null,
        role: input.role,
        attempt: input.attempt,
        launch: input.launch ?? end.attempt,
        route: outcome?.route ?? null,
        ...(end.result ? { launchFailure: result.launchFailure ?? null, usage: result.usage } : {}),
      },
      ...end.at,
    });
  } else if (end.type === 'runCommandStep' && end.result) {
    lines.push({
      path: String(result.outputFile),
      fields: { kind: 'command', step: input.step, exitCode: result.exitCode },
      ...end.at,
    });
  } else if (end.type === 'recordAnswer' && evidence) {
    lines.push({
      path: folderOf(evidence),
      fields: {
        kind: 'answer',
        step: input.step,
        item,
        requestId: input.requestId,
        route: input.route ?? null,
        by: result.by ?? null,
      },
      ...end.at,
    });
  } else if (end.type === 'recordChildRun' && evidence) {
    const child = (input.child ?? {}) as Record<string, unknown>;
    lines.push({
      path: folderOf(evidence),
      fields: {
        kind: 'sop',
        step: input.step,
        item,
        route: input.route,
        child: { sop: child.sop, workflowId: child.workflowId, runId: child.runId, status: child.status },
      },
      ...end.at,
    });
  }
  return lines;
}
