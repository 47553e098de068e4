import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { workflowExecutions } from '../client/executions';
import { RATE_LIMITED, type RateLimitDetails } from '../model/contract';

// What Temporal's history says about a run's evidence: each agent activity's result carries the sha256 of
// the evidence.json it wrote (and its run-folder-relative path) — a launch the provider rate-limited carries
// them in its failure's details — and the run's plan names the files the runtime itself rewrites after an
// agent wrote them (worklist sources get item statuses written back).

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface HistoryRecord {
  sha256: string;
  runId: string;
  eventId: number;
}

export interface HistoryEvidence {
  /** run-folder-relative evidence.json path → the sha256 the activity reported */
  records: Map<string, HistoryRecord>;
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
  const result: HistoryEvidence = { records: new Map(), runtimeWritten: new Set(), runs: runIds.length };
  for (const runId of runIds) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    collect(history.events ?? [], runId, result);
  }
  return result;
}

function collect(events: HistoryEvent[], runId: string, into: HistoryEvidence): void {
  for (const event of events) {
    const started = event.workflowExecutionStartedEventAttributes;
    if (started) {
      const input = decode(started.input?.payloads?.[0]) as { plan?: PlanLike } | undefined;
      if (input?.plan) addRuntimeWritten(input.plan, into.runtimeWritten);
      continue;
    }
    const failure = event.activityTaskFailedEventAttributes?.failure;
    if (failure?.applicationFailureInfo?.type === RATE_LIMITED) {
      const parked = decode(failure.applicationFailureInfo.details?.payloads?.[0]) as
        | RateLimitDetails
        | undefined;
      if (parked?.evidence && parked.evidenceSha256)
        into.records.set(parked.evidence, {
          sha256: parked.evidenceSha256,
          runId,
          eventId: Number(event.eventId),
        });
      continue;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (!completed) continue;
    const result = decode(completed.result?.payloads?.[0]) as
      | (PlanLike & {
          evidenceSha256?: string;
          files?: { evidence?: string };
          /** an answer record (recordAnswer) */
          evidence?: string;
          steps?: unknown;
          /** a run request resolved by the resolve activity (resolveRunRequest) */
          plan?: PlanLike & { steps?: unknown };
        })
      | undefined;
    const evidenceFile = result?.files?.evidence ?? result?.evidence;
    if (result?.evidenceSha256 && evidenceFile) {
      into.records.set(evidenceFile, {
        sha256: result.evidenceSha256,
        runId,
        eventId: Number(event.eventId),
      });
    } else {
      // a plan resolved by an activity (a run started by reference): the result, or its `plan`
      const plan = result?.plan ?? result;
      if (plan?.worklists && plan.artifacts && plan.steps) addRuntimeWritten(plan, into.runtimeWritten);
    }
  }
}

function addRuntimeWritten(plan: PlanLike, into: Set<string>): void {
  for (const worklist of plan.worklists ?? []) {
    const artifact = plan.artifacts?.find((a) => a.name === worklist.from);
    const match = artifact && /^\{\{\s*run\.folder\s*\}\}\/(.+)$/.exec(artifact.path);
    if (match && !match[1].includes('{{')) into.add(match[1]);
  }
}
