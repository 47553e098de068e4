// repo.url runs (src/shapes/workspace.ts): provisioning on the shared queue, the options that send an
// activity to the run's worker, and what happens when that worker is lost: the run is provisioned on
// another worker from the last pushed commit, and the step (or item) that was under way runs again there.
import {
  ActivityFailure,
  ApplicationFailure,
  log,
  proxyActivities,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { WorkspaceActivities } from '../activities/workspaces';
import { WORKER_STOPPED } from '../shapes/contract';
import {
  type Placement,
  type Provisioned,
  type ProvisionRequest,
  WORKSPACE_INVALID,
} from '../shapes/workspace';

const { provisionWorkspace, commitStep } = proxyActivities<WorkspaceActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [WORKSPACE_INVALID] },
});

/** Provisions the workspace on whichever worker of the shared queue takes it. */
export function provision(request: ProvisionRequest): Promise<Provisioned> {
  return provisionWorkspace.executeWithOptions(
    {
      startToCloseTimeout: '10 minutes',
      // a worker that dies while it provisions: another one provisions
      heartbeatTimeout: '1 minute',
      retry: { maximumAttempts: 5, nonRetryableErrorTypes: [WORKSPACE_INVALID] },
      summary: `provision ${request.sop}/${request.taskId}${request.base ? ' again' : ''}`,
    },
    [request],
  );
}

export { commitStep };

/** Options that send an activity to the run's worker; a worker that does not take it in time is gone. */
export function onPlacement(placement: Placement, heartbeat = false) {
  return {
    taskQueue: placement.queue,
    scheduleToStartTimeout: placement.lostAfterMs,
    ...(heartbeat ? { heartbeatTimeout: placement.lostAfterMs } : {}),
  };
}

/** Whether an activity failed because its worker is gone (never took it, stopped heartbeating, stopped). */
export function workerLost(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  return (
    cause instanceof TimeoutFailure || (cause instanceof ApplicationFailure && cause.type === WORKER_STOPPED)
  );
}

/** "heartbeat timeout", "schedule-to-start timeout", or the worker's own reason. */
export function describeLoss(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (cause instanceof TimeoutFailure)
    return `${(cause.timeoutType ?? 'activity').toLowerCase().replace(/_/g, '-')} timeout`;
  return cause?.message ?? String(err);
}

/** The failure type of a child run whose parent's worker (holding its workspace) was lost. */
const WORKER_LOST = 'SopWorkerLost';

/** The work under way in the lost workspace is gone: the step (or item) runs again in the new one. */
export class WorkspaceMoved extends Error {
  constructor(
    message: string,
    /** Sop-Key trailers the new workspace's branch holds (accepted steps pushed before the loss) */
    readonly keys: string[],
  ) {
    super(message);
  }
}

export interface Mover {
  placement: Placement;
  sop: string;
  taskId: string;
  /** called with the new placement once provisioned */
  moved: (placement: Placement) => void;
  /** the provisioning under way, shared by every step that noticed the same loss */
  moving?: Promise<Provisioned>;
  lastKeys: string[];
}

/**
 * The worker of `lostQueue` is gone: provision the run again (once, however many steps noticed) from the
 * run branch the remote holds, and throw WorkspaceMoved so the step under way runs again there.
 */
export async function moveWorkspace(mover: Mover, lostQueue: string, why: string): Promise<never> {
  // a child run in its parent's workspace fails: its parent notices the loss and moves the run
  if (mover.placement.pinned) {
    throw ApplicationFailure.create({
      type: WORKER_LOST,
      message: `worker ${mover.placement.host} (${lostQueue}), which holds the calling run's workspace, was lost: ${why}`,
      nonRetryable: true,
    });
  }
  if (mover.placement.queue === lostQueue) {
    if (!mover.moving) {
      const from = mover.placement;
      log.warn(`worker ${from.host} (${from.queue}) lost: ${why}; provisioning the run on another worker`);
      mover.moving = provision({
        sop: mover.sop,
        taskId: mover.taskId,
        url: from.remote,
        base: from.base,
        ...(from.baseBranch ? { baseBranch: from.baseBranch } : {}),
      });
      try {
        const { placement, keys } = await mover.moving;
        mover.lastKeys = keys;
        mover.moved({ ...placement, provisions: from.provisions + 1 });
      } finally {
        mover.moving = undefined;
      }
    } else {
      await mover.moving;
    }
  }
  throw new WorkspaceMoved(`the workspace moved from ${lostQueue}: ${why}`, mover.lastKeys);
}
