// Makes the context of one run execution (context.ts): the carried state, the quick file updates of its
// engine, the handlers of a person's answers, and, for a repo.url run, how it moves to another worker.
import type { RunInput, RunState } from '../../shapes/run';
import { type Mover, onPlacement } from '../workspace';
import { fileUpdates, placedFileUpdates } from './activities';
import { showWaiting } from './children';
import type { RunContext } from './context';
import { createHumanInput } from './human';
import { hasChange, type PatchId } from './patches';
import { showInputStep } from './visibility';

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
    children: { tracks: false, reports: false, usage: false, running: new Map() },
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
