// the resolver's refusals (src/sop/resolve.ts), thrown by SopClient.start before a run starts
export { RunRequestRefusedError, SopInputError, UnpricedModelError } from '../sop/resolve';

/** A run with this task id is running, or finished and a re-run was not asked for. */
export class RunExistsError extends Error {
  constructor(
    readonly workflowId: string,
    readonly running: boolean,
  ) {
    super(
      running
        ? `run ${workflowId} is already running; follow it, cancel it, or choose another task id`
        : `run ${workflowId} already exists and has finished; pass rerun: true (\`--rerun\`) to run the task again`,
    );
    this.name = 'RunExistsError';
  }
}

export class RunNotFoundError extends Error {
  constructor(readonly workflowId: string) {
    super(`no run ${workflowId}`);
    this.name = 'RunNotFoundError';
  }
}

/** `resume` / `rerun` cannot start from where the task is; `hint` says what to do instead. */
export class RestartRefusedError extends Error {
  constructor(
    readonly workflowId: string,
    reason: string,
    readonly hint: string,
  ) {
    super(`run ${workflowId} ${reason}`);
    this.name = 'RestartRefusedError';
  }
}
