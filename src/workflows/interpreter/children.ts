// The child runs of `kind: sop` steps, as their parent sees them:
// - a person awaited in a child (or in a child of it) makes the parent waiting_input too: SopStatus, the
//   memo `waitingIn` (`sop runs list`) and the status query name that child run. The child tells its parent
//   with the childStatus signal whenever that changes; a child that has ended is waited in no longer,
//   whatever it last said (a child terminated while it waited cannot say so).
// - what a child used (with its own children) is added to the parent's childUsage when it ends — from its
//   result, or from the details of its failure — and counted against the parent's budgets.
//   A child also reports what it has used so far (after each agent execution and each of its own children),
//   so a child cancelled or terminated on its own, which ends with neither, still counts with its last report.
// Both add commands (a marker, signals, memo upserts) to runs of the same engine recorded before: decided
// once at the start of an execution (a marker's safe place) by a patch each.
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  getExternalWorkflowHandle,
  log,
  patched,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import {
  CHILD_STATUS_SHAPE,
  ChildStatusSchema,
  parseMessageArg,
  WAITING_IN_MEMO_KEY,
  type WaitingIn,
} from '../../shapes/message-args';
import { childStatusSignal } from '../../shapes/messages';
import { addRunUsage, NO_USAGE, type RunResult, type RunUsage } from '../../shapes/run';
import type { RunContext } from './context';
import { refreshDetails, setStatus } from './visibility';

const CHILD_RUNS_PATCH = 'child-runs-v1';
const CHILD_USAGE_PATCH = 'child-usage-reports-v1';

/** At the start of an execution: whether this run tracks its child runs and reports to its parent. */
export function decideChildRuns(ctx: RunContext): void {
  const calls = ctx.plan.steps.some((s) => s.kind === 'sop');
  const called = ctx.input.parent?.step !== undefined;
  const on = (calls || called) && patched(CHILD_RUNS_PATCH);
  const usage = on && patched(CHILD_USAGE_PATCH);
  ctx.children = { tracks: on && calls, reports: on && called, usage, running: new Map() };
  setHandler(childStatusSignal, (arg) => {
    const parsed = parseMessageArg(ChildStatusSchema, arg, 'childStatus', CHILD_STATUS_SHAPE);
    if (!parsed.ok) return void log.warn(`ignored childStatus signal: ${parsed.problem}`);
    const report = parsed.value;
    const known = ctx.children.running.get(report.child);
    // a child that has ended, or a report older than the last one, changes nothing
    if (!ctx.children.tracks || !known || report.seq <= known.seq) return;
    known.seq = report.seq;
    known.waitingIn = report.waitingIn;
    if (ctx.children.usage && report.usage) known.usage = report.usage;
    showWaiting(ctx);
  });
}

/** The child run a person is awaited in (the longest waiting one first), if any. */
export function waitingInChild(ctx: RunContext): WaitingIn | undefined {
  for (const child of ctx.children.running.values()) if (child.waitingIn) return child.waitingIn;
  return undefined;
}

/**
 * running or waiting_input, from the requests waiting here and in the child runs; the memo `waitingIn`
 * names the child run, and the parent hears about a change. Called when either changes.
 */
export function showWaiting(ctx: RunContext): void {
  const own = ctx.human.pending().length > 0;
  const inChild = ctx.children.tracks ? waitingInChild(ctx) : undefined;
  setStatus(ctx, own || inChild ? 'waiting_input' : 'running');
  refreshDetails(ctx);
  if (ctx.children.tracks && inChild?.workflowId !== ctx.children.shown) {
    ctx.children.shown = inChild?.workflowId;
    upsertMemo({ [WAITING_IN_MEMO_KEY]: inChild ?? null });
  }
  if (!ctx.children.reports) return;
  const here: WaitingIn | undefined = own
    ? { workflowId: workflowInfo().workflowId, sop: ctx.plan.sop, task: ctx.run.taskId }
    : inChild;
  if (here?.workflowId === ctx.children.reported?.waitingIn?.workflowId) return;
  report(ctx, here);
}

/** A child run after it used more (an agent execution, a child of its own): its parent hears how much. */
export function reportUsage(ctx: RunContext): void {
  if (!ctx.children.reports || !ctx.children.usage) return;
  const last = ctx.children.reported?.usage;
  const now = usedSoFar(ctx);
  if (last && last.agentRuns === now.agentRuns && last.costUsd === now.costUsd) return;
  report(ctx, ctx.children.reported?.waitingIn);
}

function usedSoFar(ctx: RunContext): RunUsage {
  return addRunUsage(ctx.state.usage, ctx.state.childUsage ?? NO_USAGE);
}

function report(ctx: RunContext, here: WaitingIn | undefined): void {
  const usage = ctx.children.usage ? { ...usedSoFar(ctx) } : undefined;
  ctx.children.reported = { waitingIn: here, usage };
  // counted in the state: a report after continue-as-new or a resume is still newer than the ones before
  ctx.state.childReports = (ctx.state.childReports ?? 0) + 1;
  const parent = getExternalWorkflowHandle(ctx.input.parent!.workflowId);
  void parent
    .signal(childStatusSignal, {
      child: workflowInfo().workflowId,
      seq: ctx.state.childReports,
      ...(here ? { waitingIn: here } : {}),
      ...(usage ? { usage } : {}),
    })
    .catch((err) => log.warn(`the parent run did not get the child status: ${(err as Error).message}`));
}

/** Before a child starts: it is running (and not waited in yet). */
export function childStarting(ctx: RunContext, workflowId: string): void {
  if (ctx.children.tracks) ctx.children.running.set(workflowId, { seq: 0 });
}

/**
 * A child has ended: nobody is awaited in it any more, and what it used is this run's children's: from its
 * result or failure, else (cancelled or terminated on its own) from its last report.
 */
export function childEnded(ctx: RunContext, workflowId: string, used: RunUsage | undefined): void {
  if (!ctx.children.tracks) return;
  const reported = ctx.children.usage ? ctx.children.running.get(workflowId)?.usage : undefined;
  ctx.children.running.delete(workflowId);
  const counted = used ?? reported;
  if (counted) ctx.state.childUsage = addRunUsage(ctx.state.childUsage ?? NO_USAGE, counted);
  showWaiting(ctx);
  if (counted) reportUsage(ctx);
}

/** What a child run used, with its own children: from its result. */
export function usageOfResult(result: RunResult): RunUsage {
  return addRunUsage(result.usage, result.childUsage ?? NO_USAGE);
}

/** What a failed child run used, with its own children: from the details of its failure (see failureDetails). */
export function usageOfFailure(err: unknown): RunUsage | undefined {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure)) return undefined;
  const details = cause.details?.[0] as { usage?: unknown; childUsage?: unknown } | undefined;
  const usage = asUsage(details?.usage);
  return usage && addRunUsage(usage, asUsage(details?.childUsage) ?? NO_USAGE);
}

/** The details a run's failure carries for its parent: what it used. */
export function failureDetails(ctx: RunContext): unknown[] | undefined {
  if (!ctx.children.reports) return undefined;
  return [{ usage: ctx.state.usage, ...(ctx.state.childUsage ? { childUsage: ctx.state.childUsage } : {}) }];
}

function asUsage(value: unknown): RunUsage | undefined {
  const u = value as Partial<RunUsage> | undefined;
  const fields = [u?.inputTokens, u?.outputTokens, u?.costUsd, u?.agentRuns];
  if (!fields.every((f) => typeof f === 'number' && Number.isFinite(f))) return undefined;
  return u as RunUsage;
}
