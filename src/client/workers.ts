import * as os from 'node:os';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/** A worker polling a task queue, as the server reports it (DescribeTaskQueue). */
export interface WorkerPoller {
  identity: string;
  lastAccess?: Date;
}

/**
 * How long after its last poll a worker on another machine still counts as there. An idle worker's long
 * poll lasts about a minute, and the server keeps listing a worker for minutes after it stopped.
 */
const REMOTE_POLLER_FRESH_MS = 90_000;

/**
 * The workers that serve the workflow tasks of `taskQueue` now. The server's poller list lags: a worker
 * that has just stopped stays listed for minutes. A worker of this machine (identity `pid@host`, the SDK
 * default) whose process is gone is left out at once; others count while they polled recently.
 */
export async function liveWorkers(
  client: Client,
  namespace: string,
  taskQueue: string,
): Promise<WorkerPoller[]> {
  const response = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const now = Date.now();
  return (response.pollers ?? [])
    .map((p) => ({
      identity: p.identity ?? '',
      lastAccess: p.lastAccessTime?.seconds ? new Date(Number(p.lastAccessTime.seconds) * 1000) : undefined,
    }))
    .filter((p) => {
      const local = localPid(p.identity);
      if (local !== undefined) return processAlive(local);
      return p.lastAccess !== undefined && now - p.lastAccess.getTime() < REMOTE_POLLER_FRESH_MS;
    });
}

/** The pid of a worker identity `pid@host` when host is this machine. */
function localPid(identity: string): number | undefined {
  const match = /^(\d+)@(.+)$/.exec(identity);
  return match && match[2] === os.hostname() ? Number(match[1]) : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
