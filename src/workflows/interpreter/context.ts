// The state of one run execution that every part of the interpreter reads and changes: the plan and
// input it started with, the carried state, and what is going on right now (status, active roles, the
// pending input request). One object per execution, passed to the other modules as a parameter.
import { ActivityFailure } from '@temporalio/workflow';
import type { LostLaunch, RunRef } from '../../model/contract';
import type { ExecutionPlan, RouteTarget, StepSpec } from '../../model/plan';
import type { RunInput, RunState, RunStatus } from '../../model/run';
import type { ActiveRole } from '../messages';
import { type Mover, onPlacement } from '../workspace';
import { type FileUpdates, fileUpdates, placedFileUpdates } from './activities';
import { type ChildRuns, showWaiting } from './children';
import { createHumanInput, type HumanInput } from './human';
import { hasChange, type PatchId } from './patches';
import { showInputStep } from './visibility';
import type { ParallelWork } from './worktrees';

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
}

export function createContext(input: RunInput): RunContext {
  const { plan, run } = input;
  const engine = input.engine ?? 1;
  const state: RunState = input.resume?.state ??
    input.restart?.state ?? {
      startedAtMs: Date.now(),
      usage: { inputTokens: 0, outputTokens: 0, costUsd: 0, agentRuns: 0 },
      routesTaken: [],
      routesTakenCount: 0,
      outputs: {},
      done: [],
      started: [],
      worklists: {},
      executions: 0,
      pendingMessages: [],
      deliveries: {},
      deniedCalls: 0,
      denials: [],
    };
  // state carried by continue-as-new from an older interpreter may lack newer fields
  state.worklists ??= {};
  state.deniedCalls ??= 0;
  state.denials ??= [];
  state.answers ??= [];
  const ctx: RunContext = {
    input,
    plan,
    run,
    engine,
    isPatched: (id: PatchId) => hasChange(engine, id),
    files: engine >= 2 ? fileUpdates[2] : fileUpdates[1],
    fleet: undefined,
    stepsByName: new Map(plan.steps.map((s) => [s.name, s])),
    state,
    status: 'running',
    active: new Map(),
    activeThreads: 0,
    unrecordedLosses: new Map(),
    emitting: [],
    emitFailures: [],
    // decideChildRuns sets what this execution does
    children: { tracks: false, reports: false, running: new Map() },
    // registers the answer and tool-approval handlers; its callbacks run later, once ctx exists
    human: createHumanInput({
      run: () => ctx.run,
      activityOptions: () => (ctx.fleet ? onPlacement(ctx.fleet.placement) : {}),
      answers: () => state.answers!,
      waitingChanged: () => showWaiting(ctx),
      showInputStep: (step) => showInputStep(ctx, step),
      nextExecution: () => ++state.executions,
      isPatched: (id) => hasChange(engine, id),
      questionScope: () => ({ input: input.input, params: input.params }),
    }),
  };
  const placement = state.placement ?? input.placement;
  if (placement) {
    state.placement = placement;
    const fleet: Mover = {
      placement,
      sop: plan.sop,
      taskId: run.taskId,
      lastKeys: [],
      moved: (next) => {
        const runFolder = next.workspace + ctx.run.runFolder.slice(fleet.placement.workspace.length);
        fleet.placement = next;
        state.placement = next;
        ctx.run = { ...ctx.run, workspace: next.workspace, runFolder };
      },
    };
    ctx.fleet = fleet;
    ctx.run = {
      ...run,
      workspace: placement.workspace,
      runFolder: placement.workspace + run.runFolder.slice(run.workspace.length),
    };
    ctx.files = placedFileUpdates(ctx);
  }
  return ctx;
}

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
