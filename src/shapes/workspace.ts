// Where a repo.url run works: a git worktree on a run branch, provisioned on the worker that took the
// run's first activity, and that worker's own task queue, which every later activity of the run goes to
// (Temporal's worker-specific task queue pattern). Plain types: read by the workflow and the activities.

/**
 * A name git accepts as one part of a branch name: characters it refuses (a scheduled run's task id has
 * `:` in its fire time) become `-`.
 */
export const refSafe = (value: string) =>
  value
    .replace(/[^\w.-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.-]+|[.-]+$|\.lock$/g, '')
    .slice(0, 80) || 'x';

/** The run branch of a task: every accepted step is a commit on it, pushed to the run's remote. */
export const runBranch = (sop: string, taskId: string) => `sop/${refSafe(sop)}/${refSafe(taskId)}`;

/** Patch id: repo.url runs are provisioned on a worker, commit accepted steps and move when it is lost. */
export const FLEET_PATCH = 'fleet-workspaces-v1';

/** The failure type of a provisioning that cannot work on any worker (bad url, ref, work root). */
export const WORKSPACE_INVALID = 'SopWorkspaceInvalid';

/** What the provisioning activity is asked (on the shared queue: whichever worker takes it). */
export interface ProvisionRequest {
  sop: string;
  taskId: string;
  /** the run's git remote (repo.url) */
  url: string;
  /** branch, tag or commit to start from (repo.ref); default: the remote's default branch */
  ref?: string;
  /** re-provisioning: the commit the run started from, used when the remote has no run branch yet */
  base?: string;
  /** re-provisioning: the branch the run started from (the placement's baseBranch), carried over */
  baseBranch?: string;
}

/** A run's workspace on one worker (recorded in history and carried in the run state). */
export interface Placement {
  /** the worker-specific task queue every activity of the run goes to */
  queue: string;
  /** the worker's host name */
  host: string;
  /** the worktree (absolute, on that worker) */
  workspace: string;
  remote: string;
  branch: string;
  /** the commit the run branch started from */
  base: string;
  /**
   * the remote's branch the run started from: repo.ref when it names a branch, else the remote's default
   * branch; absent when the run started from a tag or a commit (a pull request's default base)
   */
  baseBranch?: string;
  /** the last commit on the run branch that the remote holds */
  head: string;
  /**
   * how long the worker may be silent (no poll of its queue, no heartbeat) before it counts as gone and
   * the run is provisioned on another worker (the provisioning worker's SOP_WORKER_LOST_AFTER_MS)
   */
  lostAfterMs: number;
  /** how many times this run was provisioned (1: never moved) */
  provisions: number;
  /**
   * a child run of a `kind: sop` step, working in its parent's workspace on the parent's worker: it commits
   * nothing (the parent commits the step) and does not move when the worker is lost (it fails instead)
   */
  pinned?: boolean;
}

/** What provisioning returns: the placement and the accepted steps the run branch already holds. */
export interface Provisioned {
  placement: Placement;
  /** the Sop-Key trailers of the run branch's commits since base (the most recent ones) */
  keys: string[];
}

/** One accepted step (or worklist item) to commit on the run branch and push. */
export interface CommitRequest {
  workspace: string;
  branch: string;
  /** the commit's first line */
  subject: string;
  /** Sop-Name, Sop-Task, Sop-Step, Sop-Item, Sop-Route: git trailers of the commit */
  trailers: Record<string, string>;
  /** identifies the accepted step: a commit carrying it already on the branch is not made again */
  key: string;
}

export interface CommitResult {
  /** the run branch's commit that holds the step (a new one, or HEAD when nothing changed) */
  commit: string;
  /** whether a new commit was made (false: the step changed no file, or it was committed before) */
  created: boolean;
  pushed: boolean;
}
