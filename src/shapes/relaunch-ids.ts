// Names shared by the interpreter's relaunch logic and the client that renders a run's history.

/** Patch id: harness failures come back as results, lost workers are relaunched by the workflow. */
export const WORKER_LOSS_PATCH = 'worker-loss-relaunch-v1';
/** Summary prefix of the backoff timer before a relaunch (shown by `sop logs --events`). */
export const RELAUNCH_TIMER = 'relaunch';
