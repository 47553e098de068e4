// Parallel work in isolated git worktrees: a worklist item run with concurrency > 1, or a step run while
// another branch of the run runs (`after:`), works in a worktree of its own, branched from the run's
// current commit, and is merged back into the workspace when its step accepts it; a merge conflict goes
// back to its producer as rework (the files named). Work that runs alone stays in place, as before:
// nothing here is called for it (src/activities/worktrees.ts does the git work).
import { log, patched } from '@temporalio/workflow';
import type { WorkItem, Worktree } from '../../shapes/contract';
import type { StepSpec } from '../../shapes/execution-plan';
import { onPlacement } from '../workspace';
import { mergeWorktree, openWorktree } from './activities';
import { deliveryKey, type ParallelWork, type RunContext } from './context';

// Runs started before it ran parallel work in the shared workspace, one write audit for all of it.
const PARALLEL_WORKTREES_PATCH = 'parallel-worktrees-v1';
/** The route recorded when the runtime sends the work back because its merge conflicted. */
export const MERGE_CONFLICT_ROUTE = 'merge_conflict';

/**
 * At the start of an execution (a patch marker's safe place: a call later, after a local activity, may
 * land in another workflow task on replay): whether this run's parallel work gets worktrees. Asked only
 * for plans that can run work side by side, so sequential runs emit exactly the commands they did.
 */
export function decideParallelWorktrees(ctx: RunContext): void {
  const parallel = ctx.plan.steps.some((s) => (s.forEach?.concurrency ?? 1) > 1 || s.after.length > 0);
  ctx.parallelWorktrees = parallel && patched(PARALLEL_WORKTREES_PATCH);
}

/** Git work on the workspace: a repo.url run's goes to the worker that holds its workspace. */
function onRunsWorker(ctx: RunContext) {
  return {
    startToCloseTimeout: '10 minutes',
    retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['SopWorktreeError'] },
    ...(ctx.fleet ? onPlacement(ctx.fleet.placement) : {}),
  };
}

function parallelOf(ctx: RunContext): ParallelWork {
  ctx.parallel ??= { open: new Map(), queue: Promise.resolve() };
  return ctx.parallel;
}

/** Git changes to the workspace one at a time (each reads and moves the run's head). */
function serialized<T>(work: ParallelWork, fn: () => Promise<T>): Promise<T> {
  const next = work.queue.then(fn, fn);
  work.queue = next.catch(() => undefined);
  return next;
}

/** The worktree this step (and item) works in, or undefined when it works in place. */
export function worktreeOf(ctx: RunContext, step: string, item: string | undefined): Worktree | undefined {
  return ctx.parallel?.open.get(deliveryKey(step, item));
}

/**
 * Opens a worktree for the step (and item) when it runs beside other work: a worklist with concurrency
 * > 1, or another thread of the run active. Undefined: it works in place.
 */
export async function openWorktreeFor(
  ctx: RunContext,
  step: StepSpec,
  item: WorkItem | undefined,
): Promise<Worktree | undefined> {
  const beside = (item !== undefined && (step.forEach?.concurrency ?? 1) > 1) || ctx.activeThreads > 1;
  if (!beside || !ctx.parallelWorktrees) return undefined;
  const work = parallelOf(ctx);
  const key = item ? `${step.name}-${item.id}` : step.name;
  const fresh = () => work.head !== undefined && !work.stale;
  const open = (snapshot: boolean) =>
    openWorktree.executeWithOptions(onRunsWorker(ctx), [{ run: ctx.run, key, head: work.head, snapshot }]);
  // the workspace is as `head` says: branch from it at once, beside the others; else one snapshot at a time
  const opened = fresh()
    ? await open(false)
    : await serialized(work, async () => (work.unavailable ? undefined : open(!fresh())));
  if (!opened) return undefined;
  if ('unavailable' in opened) {
    work.unavailable = opened.unavailable;
    log.warn(`parallel work runs in place, sharing the workspace: ${opened.unavailable}`);
    return undefined;
  }
  work.head = opened.head;
  work.stale = false;
  work.open.set(deliveryKey(step.name, item?.id), opened.worktree);
  return opened.worktree;
}

/** Merges an accepted step's worktree into the workspace; returns the conflicting files, if any. */
export async function mergeBack(
  ctx: RunContext,
  step: StepSpec,
  item: WorkItem | undefined,
  worktree: Worktree,
  /** leave the worktree in place once merged (a child run's run folder is in it) */
  keep?: boolean,
): Promise<string[] | undefined> {
  const work = parallelOf(ctx);
  const result = await serialized(work, () =>
    mergeWorktree.executeWithOptions(onRunsWorker(ctx), [
      { run: ctx.run, worktree, head: work.head, ...(keep ? { keep } : {}) },
    ]),
  );
  work.head = result.head;
  if (!result.merged) return result.conflicts;
  work.open.delete(deliveryKey(step.name, item?.id));
  log.info(`${worktree.branch} merged into the workspace (${result.files} file(s))`);
  return undefined;
}

/** The producer's finding when its accepted work did not merge. */
export function mergeConflictFinding(conflicts: string[], worktree: Worktree): string {
  return `Merging your accepted work (branch ${worktree.branch}) into the run's workspace conflicted: other work merged meanwhile changed the same lines of ${conflicts.map((f) => `\`${f}\``).join(', ')}. Your worktree now holds your work merged with the run's current state, with conflict markers (<<<<<<<, =======, >>>>>>>) in those files: resolve them, keeping the intent of both sides, and remove the markers.`;
}

/** Work about to run in the workspace itself: a later worktree must snapshot the workspace first. */
export function markInPlaceWork(ctx: RunContext): void {
  if (ctx.parallel) ctx.parallel.stale = true;
}
