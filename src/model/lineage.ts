// Events between SOPs: a run that takes a route (or finishes) with `emits:` starts every SOP listening to
// the event. Each child knows its parent (memo `parent` + the SopParent search attribute) and how deep
// in a chain of events it is, so a runaway chain stops with a clear failure. Pure: workflow code imports it.
import { TASK_ID_PATTERN } from './names';

/** Where a run started by an event comes from (the child's memo `parent`, carried in its RunInput). */
export interface RunParent {
  /** the emitting run's workflow id (`<sop>/<task>`) and execution */
  workflowId: string;
  runId: string;
  event: string;
  /** 1 for a child of a run a person started; the parent's depth + 1 below that */
  depth: number;
  /** the workflow ids from the first run of the chain to the parent */
  chain: string[];
}

export const PARENT_MEMO_KEY = 'parent';

/** Failure types of the emit activity that a retry cannot fix. */
export const EVENT_DEPTH_EXCEEDED = 'SopEventDepthExceeded';
export const EVENT_MAPPING_FAILED = 'SopEventMappingFailed';

/** How many events deep a chain may go (SOP_EVENT_MAX_DEPTH on the worker overrides it). */
export const DEFAULT_MAX_EVENT_DEPTH = 8;

/** What the workflow asks the emit activity: the event, what its payload is built from, who emits it. */
export interface EmitEventRequest {
  event: string;
  /** the declared payload (templates over input, params, run and steps.<step>.payload); absent: the outputs */
  payload?: Record<string, unknown>;
  scope: {
    input: Record<string, unknown>;
    params: Record<string, unknown>;
    run: { sop: string; task: string; folder: string };
    steps: Record<string, { route: string; payload: unknown }>;
  };
  emitter: { workflowId: string; runId: string; workspace: string; taskQueue: string };
  /** the emitter's own parent, when an event started it */
  emitterParent?: RunParent;
  /** the task id every listener's run gets: derived from the emitting run, so a retry starts nothing twice */
  childTask: string;
}

export interface EmittedRun {
  sop: string;
  trigger: string;
  workflowId: string;
  runId: string;
  /** false: a run of that id existed already (a retried emit) */
  started: boolean;
}

export interface EmitEventResult {
  event: string;
  runs: EmittedRun[];
}

/**
 * `<sop>.<task>.<event>.<first run id, 8>-<n>`: the n-th emission of the run, stable across retries and
 * replays; a hash of the same when it would not fit a task id.
 */
export function emittedTaskId(
  emitter: { sop: string; task: string; firstRunId: string },
  event: string,
  n: number,
): string {
  const plain = `${emitter.sop}.${emitter.task}.${event}.${emitter.firstRunId.slice(0, 8)}-${n}`;
  if (TASK_ID_PATTERN.test(plain)) return plain;
  return `${event}.${fnv1a(plain, 0x811c9dc5)}${fnv1a(plain, 0x01000193)}-${n}`;
}

/** 32-bit FNV-1a as 8 hex digits (workflow code has no node:crypto; this only shortens an id). */
function fnv1a(text: string, seed: number): string {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The parent recorded in a run's memo, when it has a well-formed one. */
export function parentFromMemo(memo: Record<string, unknown> | undefined): RunParent | undefined {
  const value = memo?.[PARENT_MEMO_KEY] as Partial<RunParent> | undefined;
  if (!value || typeof value !== 'object') return undefined;
  const { workflowId, runId, event, depth, chain } = value;
  if (typeof workflowId !== 'string' || typeof event !== 'string' || typeof depth !== 'number')
    return undefined;
  return {
    workflowId,
    runId: typeof runId === 'string' ? runId : '',
    event,
    depth,
    chain: Array.isArray(chain) ? chain.filter((c): c is string => typeof c === 'string') : [workflowId],
  };
}
