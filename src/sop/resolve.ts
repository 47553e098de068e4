// The resolver: a run request + the SOP it names → the run's plan and checked input. Its one caller that
// counts is the resolve activity on a worker (src/activities/resolve-run.ts), whose result is recorded in
// the run's history; `sop run`, `sop test` and `SopClient.start(bundle, ...)` call the same functions
// before starting, only to refuse a bad request early with the same message. Every refusal is one line
// that starts with the field it is about.

import { didYouMean } from '../shapes/diagnostics';
import type { ExecutionPlan } from '../shapes/execution-plan';
import type { RunRequest } from '../shapes/run-request';
import type { Catalog, CatalogEntry } from './catalog';
import type { SopBundle } from './compile';
import { planFromBundle, resolveParams } from './plan-from-bundle';
import { unpricedCodexRoles } from './prices';
import { inputProblems, inputWithDefaults, summarizeInput, unknownParamsProblem } from './run-input';

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

/** Why a request cannot run: `line` is what the run fails with; `error` the typed error a client throws. */
export interface Refusal {
  field: 'sop' | 'sopVersion' | 'params' | 'input' | 'budget';
  line: string;
  /** what a client throws: SopInputError, UnpricedModelError or RunRequestRefusedError */
  error: Error;
}

/** What the resolver makes of a request: recorded in history by the resolve activity. */
export interface PlannedRun {
  plan: ExecutionPlan;
  /** the input with the SOP's declared defaults filled in, checked against its input schema */
  input: Record<string, unknown>;
  params: Record<string, unknown>;
  /** one line for summaries */
  request: string;
}

export type Resolution<T> = { ok: T } | { refused: Refusal };

/** A request the resolver refused for a reason without an error class of its own (params, sopVersion). */
export class RunRequestRefusedError extends Error {
  constructor(
    readonly field: Refusal['field'],
    message: string,
  ) {
    super(message);
    this.name = 'RunRequestRefusedError';
  }
}

const refused = (
  field: Refusal['field'],
  line: string,
  error: Error = new RunRequestRefusedError(field, line),
) => ({ refused: { field, line, error } });

/**
 * The catalog entry and compiled bundle of `name` (`where`: "worker <host>", named in the messages).
 * Aliases are refused: the workflow type must be the SOP's own name.
 */
export function findSop(
  catalog: Catalog,
  name: string,
  where: string,
): Resolution<{ entry: CatalogEntry; bundle: SopBundle }> {
  const entry = catalog.find(name);
  if (!entry) {
    const suggestion = didYouMean(name, catalog.names());
    return refused(
      'sop',
      `sop: no SOP named "${name}" in the catalog of ${where}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; it has ${catalog.entries.map((e) => e.name).join(', ') || 'none'}`,
    );
  }
  if (entry.name !== name)
    return refused(
      'sop',
      `sop: "${name}" is an alias of "${entry.name}"; start the workflow with type "${entry.name}"`,
    );
  const compiled = catalog.compile(entry);
  if (!compiled.bundle) {
    const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0];
    return refused(
      'sop',
      `sop: ${entry.name} does not compile on ${where}: ${first ? `${first.file}:${first.line}:${first.column} ${first.code} ${first.message}` : 'unknown error'}${errors.length > 1 ? ` (and ${errors.length - 1} more; run sop validate ${entry.dir})` : ''}`,
    );
  }
  return { ok: { entry, bundle: compiled.bundle } };
}

/** The part of a run request the plan is made from. */
export type PlanRequest = Pick<RunRequest, 'input' | 'params' | 'request' | 'sopVersion' | 'provider'>;

/**
 * The plan and checked input of a run of `bundle`: the version pin, the params, the plan (params and
 * provider applied), the input's declared defaults, then `checkRun`. `where` names the side whose SOP
 * this is in a version mismatch ("worker <host>").
 */
export function planRun(bundle: SopBundle, request: PlanRequest, where: string): Resolution<PlannedRun> {
  const versionProblem = sopVersionProblem(request.sopVersion, bundle, where);
  if (versionProblem) return refused('sopVersion', versionProblem);
  const params = request.params ?? {};
  const paramsProblem = unknownParamsProblem(bundle, params);
  if (paramsProblem) return refused('params', `params: ${paramsProblem}`);
  let plan: ExecutionPlan;
  try {
    plan = planFromBundle(bundle, { params, provider: request.provider });
  } catch (err) {
    return refused('params', `params: ${(err as Error).message}`);
  }
  return checkRun(plan, {
    ...request,
    input: inputWithDefaults(bundle, request.input),
    params: resolveParams(bundle, params),
  });
}

/**
 * The checks every plan passes before it runs: the input against the SOP's input schema, and a price
 * for every Codex model when there is a max_usd budget (priced as this process's Codex runs would be:
 * SOP_CODEX_MODEL and SOP_PRICES).
 */
export function checkRun(
  plan: ExecutionPlan,
  request: Pick<PlanRequest, 'input' | 'params' | 'request'>,
): Resolution<PlannedRun> {
  const problems = inputProblems(plan.inputSchema, request.input);
  if (problems.length > 0) {
    const error = new SopInputError(plan.sop, problems);
    return refused('input', error.message, error);
  }
  const unpriced = plan.budgets.maxUsd === undefined ? [] : unpricedCodexRoles(plan);
  if (unpriced.length > 0) {
    const error = new UnpricedModelError(plan.sop, plan.budgets.maxUsd!, unpriced);
    return refused('budget', `budget: ${error.message}; ${error.hint}`, error);
  }
  return {
    ok: {
      plan,
      input: request.input,
      params: request.params ?? {},
      request: request.request ?? summarizeInput(request.input),
    },
  };
}

/** `sopVersion` names the SOP's `version:` or a prefix of its bundle hash (7+ hex digits). */
function sopVersionProblem(wanted: string | undefined, bundle: SopBundle, where: string): string | undefined {
  if (wanted === undefined) return undefined;
  if (bundle.version !== undefined && wanted === String(bundle.version)) return undefined;
  if (/^[0-9a-f]{7,64}$/.test(wanted) && bundle.hash.startsWith(wanted)) return undefined;
  const shown = /^[0-9a-f]{13,64}$/.test(wanted) ? `${wanted.slice(0, 12)}…` : wanted;
  return `sopVersion: "${shown}" does not match ${bundle.name} on ${where} (${sopVersionText(bundle)})`;
}

/** `version 2, bundle 0123456789ab`: how both sides of a version mismatch are named. */
export function sopVersionText(bundle: Pick<SopBundle, 'version' | 'hash'>): string {
  return `version ${bundle.version ?? 'unset'}, bundle ${bundle.hash.slice(0, 12)}`;
}
