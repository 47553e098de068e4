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

/** The run has a max_usd budget but a Codex model without a price (its usage would cost $0); nothing was started. */
export class UnpricedModelError extends Error {
  readonly hint: string;
  constructor(
    readonly sop: string,
    readonly maxUsd: number,
    readonly roles: Array<{ step: string; role: string; model: string }>,
  ) {
    const models = [...new Set(roles.map((r) => r.model))];
    const where = (model: string) =>
      `${model} (${roles
        .filter((r) => r.model === model)
        .map((r) => `step ${r.step} ${r.role}`)
        .join(', ')})`;
    super(
      `${sop} has budget max_usd (${maxUsd}), but no price is known for model ${models.map(where).join(', ')}: ` +
        'its usage would count as $0, so the budget could not stop the run',
    );
    this.name = 'UnpricedModelError';
    this.hint = `add its price in USD per million tokens to sop.config.yaml, e.g. providers: { codex: { prices: { ${models[0]}: { input: 1.25, output: 10 } } } }, or to the price file SOP_PRICES names`;
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
