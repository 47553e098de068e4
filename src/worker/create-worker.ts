import { randomUUID } from 'node:crypto';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities';
import { workerQueueName } from '../activities/workspaces';
import { envValue } from '../config/env';
import { createHarnessRunners } from '../harnesses';
import type { TemporalTarget } from '../temporal/target';
import { loadWorkflowBundle } from './workflow-bundle';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  target: TemporalTarget;
  /** Overrides the target's task queue (tests use one per suite). */
  taskQueue?: string;
  log?: (line: string) => void;
  /** the activities' dependencies; the real harness adapters unless `runners` names others */
  activities?: Partial<ActivityDeps>;
}

/** The activities with their wiring: the real harness adapters unless the caller brings its own. */
function wiredActivities(deps: Partial<ActivityDeps> = {}) {
  return createActivities({ ...deps, runners: deps.runners ?? createHarnessRunners() });
}

export async function createSopWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.target.namespace,
    taskQueue: options.taskQueue ?? options.target.taskQueue,
    workflowBundle: await loadWorkflowBundle(options.log),
    activities: wiredActivities(options.activities),
    ...workerLimits(),
  });
}

/**
 * A worker of a fleet (Temporal's worker-specific task queue pattern): one Worker polls the shared queue
 * (workflows and every activity; it provisions repo.url workspaces) and one polls this process's own
 * queue (activities only), where every later activity of a run provisioned here goes.
 */
export interface FleetWorker {
  sharedQueue: string;
  workerQueue: string;
  /** runs both until a shutdown signal (SIGINT/SIGTERM) has drained them */
  run(): Promise<void>;
  shutdown(): void;
}

export async function createFleetWorker(options: CreateWorkerOptions): Promise<FleetWorker> {
  const sharedQueue = options.taskQueue ?? options.target.taskQueue;
  const workerQueue = workerQueueName(sharedQueue, randomUUID().slice(0, 8));
  const activities = wiredActivities({ ...options.activities, workerQueue });
  const workers = await Promise.all([
    Worker.create({
      connection: options.connection,
      namespace: options.target.namespace,
      taskQueue: sharedQueue,
      workflowBundle: await loadWorkflowBundle(options.log),
      activities,
      ...workerLimits(),
    }),
    Worker.create({
      connection: options.connection,
      namespace: options.target.namespace,
      taskQueue: workerQueue,
      activities,
      ...workerLimits(),
    }),
  ]);
  return {
    sharedQueue,
    workerQueue,
    async run() {
      await Promise.all(workers.map((w) => w.run()));
    },
    shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
  };
}

function workerLimits() {
  return {
    // Harness processes are heavy: a few at a time per worker; more workers scale out.
    maxConcurrentActivityTaskExecutions: envValue('SOP_MAX_CONCURRENT_ACTIVITIES'),
    // In-flight activities get this long to finish (harnesses get SIGTERM via cancellation) on shutdown.
    shutdownGraceTime: '10 seconds',
    // Cancellation reaches an activity only in the reply to a heartbeat: throttled at the default
    // (80% of the heartbeat timeout), `sop cancel` would take up to ~48 s to stop a harness. The agent's
    // live actions travel in its heartbeat details too: a heartbeat sent within this long of the last
    // one waits for its end, so this bounds action → visible to clients (docs/operations.md).
    maxHeartbeatThrottleInterval: '1 second',
    // A run's next workflow task waits this long for this worker (its sticky queue) before any worker of
    // the queue takes it: how much longer a run stalls when this worker dies (tests that kill workers set less)
    stickyQueueScheduleToStartTimeout: envValue('SOP_WORKER_STICKY_TIMEOUT_MS'),
  } as const;
}
