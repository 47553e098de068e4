import { type NativeConnection, Worker } from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities';
import type { TemporalTarget } from '../temporal/target';
import { loadWorkflowBundle } from './workflow-bundle';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  target: TemporalTarget;
  /** Overrides the target's task queue (tests use one per suite). */
  taskQueue?: string;
  log?: (line: string) => void;
  activities?: ActivityDeps;
}

export async function createSopWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.target.namespace,
    taskQueue: options.taskQueue ?? options.target.taskQueue,
    workflowBundle: await loadWorkflowBundle(options.log),
    activities: createActivities(options.activities),
    // Harness processes are heavy: a few at a time per worker; more workers scale out.
    maxConcurrentActivityTaskExecutions: Number(process.env.SOP_MAX_CONCURRENT_ACTIVITIES) || 8,
    // In-flight activities get this long to finish (harnesses get SIGTERM via cancellation) on shutdown.
    shutdownGraceTime: '10 seconds',
    // Cancellation reaches an activity only in the reply to a heartbeat: throttled at the default
    // (80% of the heartbeat timeout), `sop cancel` would take up to ~48 s to stop a harness.
    maxHeartbeatThrottleInterval: '2 seconds',
  });
}
