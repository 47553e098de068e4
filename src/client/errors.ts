/** The run input does not fit the SOP's input schema; nothing was started. */
export class SopInputError extends Error {
  constructor(
    readonly sop: string,
    readonly problems: Array<{ path: string; message: string }>,
  ) {
    super(`invalid input for ${sop}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    this.name = 'SopInputError';
  }
}

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
