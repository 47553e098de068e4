// Lineage between runs. Events between SOPs: a run that takes a route (or finishes) with `emits:` starts
// every SOP listening to the event. SOP calls: a `kind: sop` step runs another SOP as a Temporal child
// workflow. Each child knows its parent (memo `parent` + the SopParent search attribute) and how deep in
// a chain it is, so a runaway chain of events stops with a clear failure. Pure: workflow code imports it.
import { TASK_ID_PATTERN } from './names';

/** Where a run started by an event or a `kind: sop` step comes from (memo `parent`, carried in its RunInput). */
export interface RunParent {
  /** the emitting (calling) run's workflow id and execution */
  workflowId: string;
  runId: string;
  /** the event that started this run; absent when a `kind: sop` step did */
  event?: string;
  /** the `kind: sop` step (and worklist item) of the parent this run serves; absent for an event */
  step?: string;
  item?: string;
  /** 1 for a child of a run a person started; the parent's depth + 1 below that */
  depth: number;
  /** the workflow ids from the first run of the chain to the parent */
  chain: string[];
}

export const PARENT_MEMO_KEY = 'parent';

/** Failure types of the emit activity that a retry cannot fix. */
export const EVENT_DEPTH_EXCEEDED = 'SopEventDepthExceeded';
export const EVENT_MAPPING_FAILED = 'SopEventMappingFailed';

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

/**
 * The task id of the child run a `kind: sop` step starts: `<sop>.<task>.<step>[.<item>]` of the calling
 * run (its workflow id is `<parent-id>/<step>[/<item>]`); a hash of the same when it would not fit.
 */
export function calledTaskId(caller: { sop: string; task: string }, step: string, item?: string): string {
  const plain = [caller.sop, caller.task, step, ...(item === undefined ? [] : [item])].join('.');
  if (TASK_ID_PATTERN.test(plain)) return plain;
  return `${step}.${fnv1a(plain, 0x811c9dc5)}${fnv1a(plain, 0x01000193)}`;
}

/** How people read where a run came from: `event planned` or `step call [item 3]`. */
export function parentCause(parent: Pick<RunParent, 'event' | 'step' | 'item'>): string {
  if (parent.event !== undefined) return `event ${parent.event}`;
  return `step ${parent.step}${parent.item !== undefined ? ` [${parent.item}]` : ''}`;
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
  const { workflowId, runId, event, step, item, depth, chain } = value;
  if (typeof workflowId !== 'string' || typeof depth !== 'number') return undefined;
  if (typeof event !== 'string' && typeof step !== 'string') return undefined;
  return {
    workflowId,
    runId: typeof runId === 'string' ? runId : '',
    ...(typeof event === 'string' ? { event } : {}),
    ...(typeof step === 'string' ? { step } : {}),
    ...(typeof item === 'string' ? { item } : {}),
    depth,
    chain: Array.isArray(chain) ? chain.filter((c): c is string => typeof c === 'string') : [workflowId],
  };
}
