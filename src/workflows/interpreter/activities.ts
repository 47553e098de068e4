// The interpreter's activity proxies: timeouts and retries of each kind of effect, and the quick file
// updates per engine (engine-version.ts).
import {
  type ActivityFunctionWithOptions,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { InterpreterActivities } from '../../activities/interpreter-activities';
import { RATE_LIMITED } from '../../shapes/contract';
import { describeLoss, moveWorkspace, onPlacement, WorkspaceMoved, workerLost } from '../workspace';
import type { FileUpdates, RunContext } from './context';

const worklistActivities = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});
export const { loadWorklist, completeWorklistItem } = worklistActivities;
const { loadWorklistWindow, completeWorklistItemWindow, reopenWorklistItems } = worklistActivities;
const { finishRun } = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});
// The quick file updates: regular activities in engine 1, local ones in engine 2 (one marker event each,
// no task round trip through the server).
export const fileUpdates = {
  1: { loadWorklistWindow, completeWorklistItemWindow, reopenWorklistItems, finishRun },
  2: proxyLocalActivities<InterpreterActivities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5 },
  }),
};

export const { runCommandStep } = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '2 hours',
  retry: { maximumAttempts: 3 },
});
export const agentActivities = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [RATE_LIMITED, 'SopConfigError'] },
});

const placedActivities = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});

/**
 * A repo.url run's quick file updates: regular activities on its worker's queue (a local activity would
 * run on whichever worker runs the workflow task, which may not hold the workspace), in its current
 * workspace. When that worker is lost: a read or the final stamp goes to the new workspace; a worklist
 * item's completion throws WorkspaceMoved (the item's work is gone with the worker, it runs again).
 */
export function placedFileUpdates(ctx: RunContext): FileUpdates {
  const fleet = ctx.fleet!;
  const placed =
    <K extends keyof FileUpdates>(name: K, rerunWhenMoved: boolean) =>
    async (request: Parameters<FileUpdates[K]>[0]) => {
      for (;;) {
        const placement = fleet.placement;
        try {
          const activity = placedActivities[name] as unknown as ActivityFunctionWithOptions<
            (r: typeof request) => ReturnType<FileUpdates[K]>
          >;
          return await activity.executeWithOptions(
            { startToCloseTimeout: '1 minute', retry: { maximumAttempts: 5 }, ...onPlacement(placement) },
            [{ ...request, run: ctx.run }],
          );
        } catch (err) {
          if (!workerLost(err)) throw err;
          try {
            await moveWorkspace(fleet, placement.queue, describeLoss(err));
          } catch (moved) {
            if (rerunWhenMoved || !(moved instanceof WorkspaceMoved)) throw moved;
          }
        }
      }
    };
  return {
    loadWorklistWindow: placed('loadWorklistWindow', false),
    completeWorklistItemWindow: placed('completeWorklistItemWindow', true),
    reopenWorklistItems: placed('reopenWorklistItems', false),
    finishRun: placed('finishRun', false),
  } as unknown as FileUpdates;
}

// Parallel work in worktrees (worktrees.ts): git work on the workspace, a few seconds on a large repository.
export const { openWorktree, mergeWorktree } = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['SopWorktreeError'] },
});
