// The state of one run execution that every part of the interpreter reads and changes: the plan and
// input it started with, the carried state, and what is going on right now (status, active roles, the
// pending input request). One object per execution (made by create-context.ts), passed to the other
// modules as a parameter. The types of its parts are here too, so those modules import this one and
// nothing imports them back.
import { ActivityFailure } from '@temporalio/workflow';
import type { InterpreterActivities } from '../../activities/interpreter-activities';
import type { LostLaunch, RunRef, Worktree } from '../../shapes/contract';
import type { DeliverPlan } from '../../shapes/deliveries';
import type { ExecutionPlan, RouteTarget, StepSpec } from '../../shapes/execution-plan';
import type { WaitingIn } from '../../shapes/message-args';
import type { ActiveRole } from '../../shapes/messages';
import type { QuotaNotice } from '../../shapes/quota';
import type { RunInput, RunState, RunStatus, RunUsage } from '../../shapes/run';
import type { Mover } from '../workspace';
import type { HumanInput } from './human';
import type { PatchId } from './patches';

const ROUTES_KEPT = 200;

export interface RunContext {
  input: RunInput;
  plan: ExecutionPlan;
  /** a repo.url run: the workspace of the worker it works on now (changes when that worker is lost) */
  run: RunRef;
  /** a repo.url run: where it works and how it moves to another worker (workspace.ts) */
  fleet?: Mover;
  engine: number;
  /** engine 2 has every change gated by patches built in (engine-version.ts) */
  isPatched: (id: PatchId) => boolean;
  /** the quick file updates of this engine (activities.ts) */
  files: FileUpdates;
  stepsByName: Map<string, StepSpec>;
  state: RunState;
  status: RunStatus;
  failure?: string;
  /** the requests waiting for a person (questions, tool approvals) and their answers (human.ts) */
  human: HumanInput;
  /** what runs right now, by step#item#role (or step for a command) */
  active: Map<string, ActiveRole>;
  activeThreads: number;
  /** set when the run should continue as new, resuming at this step */
  continueAt?: string;
  /** launches whose worker was lost and that no later launch recorded yet, by step (and item) */
  unrecordedLosses: Map<string, LostLaunch[]>;
  /** parallel work in worktrees (worktrees.ts); absent while everything runs in place */
  parallel?: ParallelWork;
  /** whether parallel work gets worktrees (decided at the start of the execution, patched) */
  parallelWorktrees?: boolean;
  /** the SopStep search attribute as last written, and the step it should show */
  lastStepAttr?: string;
  wantedStep?: string;
  /** emissions of events under way (emits.ts), and the ones that failed */
  emitting: Promise<void>[];
  emitFailures: string[];
  /** session slots an execution runs in right now (a second one at the same time starts fresh) */
  sessionsInUse?: Set<string>;
  /** the child runs of `kind: sop` steps running now, and whether this run tracks and reports them (children.ts) */
  children: ChildRuns;
  /** the deliveries this execution makes (deliveries.ts): the plan's, when the run has the patch */
  deliver?: DeliverPlan;
  /** the quota leases of this execution's agent launches (quotas.ts); absent until a launch needs one */
  quotaLeases?: QuotaLeases;
}

/** What one execution of the run knows of its quota leases. */
export interface QuotaLeases {
  seq: number;
  /** the last notice per lease this execution waits for or holds */
  notices: Map<string, QuotaNotice>;
  waiting: Set<string>;
  /** launches between their first ask and the last lease given back */
  open: number;
}

/** The quick file updates of an engine (activities.ts). */
export type FileUpdates = Pick<
  InterpreterActivities,
  'loadWorklistWindow' | 'completeWorklistItemWindow' | 'reopenWorklistItems' | 'finishRun'
>;

interface ChildRuns {
  /** this run shows a person awaited in its children and rolls up their usage (it has `kind: sop` steps) */
  tracks: boolean;
  /** this run tells its parent when a person is awaited in it (it is the child of a `kind: sop` step) */
  reports: boolean;
  /**
   * a child tells its parent what it has used so far with each report, so a child cancelled or terminated on
   * its own (no result, no failure details) still counts (patch child-usage-reports-v1)
   */
  usage: boolean;
  /** the children running now, by workflow id: the last report of each */
  running: Map<string, { seq: number; waitingIn?: WaitingIn; usage?: RunUsage }>;
  /** the workflow id the memo `waitingIn` shows, and what was last reported to the parent */
  shown?: string;
  reported?: { waitingIn?: WaitingIn; usage?: RunUsage };
}

/** The run's parallel work: its last commit, open worktrees by step#item, and one git change at a time. */
export interface ParallelWork {
  head?: string;
  open: Map<string, Worktree>;
  /** why the workspace cannot have worktrees (not a git repository): the work then runs in place */
  unavailable?: string;
  /** work ran in place since `head` was taken: the next worktree needs a fresh snapshot first */
  stale?: boolean;
  queue: Promise<unknown>;
}

/** How a step (for one item) ended: the route it took and where that leads. */
export type StepEnd = { route: string; target: RouteTarget; payload: unknown };

/** Ends the run as failed with this message (caught at the end of the run). */
export class RunFailed extends Error {}

export const fail = (message: string): never => {
  throw new RunFailed(message);
};

/** One line for a failure: the activity that failed and its own message, not the SDK's wrapper text. */
export function describeFailure(err: unknown): string {
  if (err instanceof ActivityFailure) return `${err.activityType}: ${err.cause?.message ?? err.message}`;
  return err instanceof Error ? err.message : String(err);
}

export const describeTarget = (t: RouteTarget): string =>
  t.kind === 'step' ? t.step : t.kind === 'advance' ? 'next item' : t.kind;

export function recordRoute(
  ctx: RunContext,
  step: string,
  route: string,
  target: RouteTarget,
  item?: string,
) {
  const { state } = ctx;
  state.routesTaken.push({ step, item, route, target: describeTarget(target) });
  if (state.routesTaken.length > ROUTES_KEPT) state.routesTaken.shift();
  state.routesTakenCount++;
}

/** The key of an execution in `active` (what runs right now). */
export const activeKey = (step: string, item: string | undefined, role: string) =>
  `${step}#${item ?? ''}#${role}`;

/** Where text for the next prompt of a step (and item) waits: state.deliveries[key]. */
export const deliveryKey = (step: string, item?: string) => (item ? `${step}#${item}` : step);

export function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}
