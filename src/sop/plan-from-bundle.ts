// Bundle → ExecutionPlan: the plain-data plan the interpreter workflow reads. Done when a run starts,
// because params (which may set max_rework, concurrency, ...) and the provider override are known then.

import { AGENT_QUESTION_DEFAULT_MAX } from '../shapes/agent-question';
import {
  APPROVAL_ANSWER_SCHEMA,
  type ArtifactSpec,
  DEFAULT_MAX_STEPS,
  type ExecutionPlan,
  type InputRequestSpec,
  type JsonSchema,
  type Provider,
  REVIEW_ANSWER_SCHEMA,
  type RoleSpec,
  type RouteTarget,
  type StepSpec,
} from '../shapes/execution-plan';
import { DEFAULT_POLICY, mergePolicies, type Policy } from '../shapes/policy';
import type { QuotaLimits } from '../shapes/quota';
import type { ToolGrant } from '../shapes/tool-grants';
import type { SopBundle } from './compile';
import { deliverPlan } from './deliver';
import {
  answerRouting,
  durationMs,
  effectiveRoutes,
  fieldDefaults,
  fieldsToJsonSchema,
  forEachOf,
  type NormalTarget,
  normalTarget,
  roleOf,
  stepKind,
} from './normalize';
import { profileOf } from './profiles';
import type { SopStep, Target } from './schema';
import { bundleSkills } from './toolbelt-checks';
import { emitSpecs, routeEmits, triggerSpecs } from './triggers';
import type { TypedInput } from './typed';

const DEFAULT_STEP_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_MAX_ATTEMPTS = 3;
/** failed harness launches (crash, hang, step timeout, API error) per attempt before the run fails */
const DEFAULT_MAX_LAUNCH_FAILURES = 3;
const DEFAULT_MAX_REWORK = 3;
const DEFAULT_PROVIDER: Provider = 'codex';

export interface PlanOptions {
  /** run params (after validation); defaults from the bundle fill the rest */
  params?: Record<string, unknown>;
  /** replaces the SOP's default provider (steps that name their own keep it) */
  provider?: Provider;
}

export function paramsSchema(bundle: SopBundle): JsonSchema {
  return fieldsToJsonSchema(bundle.definition.params);
}

export function inputSchema(bundle: SopBundle): JsonSchema {
  return fieldsToJsonSchema(bundle.definition.input);
}

/** The params a run gets: the declared defaults, overridden by the given ones. */
export function resolveParams(
  bundle: SopBundle,
  given: Record<string, unknown> = {},
): Record<string, unknown> {
  return { ...fieldDefaults(bundle.definition.params), ...given };
}

export function planFromBundle<I = Record<string, unknown>>(
  bundle: SopBundle & TypedInput<I>,
  options: PlanOptions = {},
): ExecutionPlan & TypedInput<I> {
  const sop = bundle.definition;
  const from: PlanSource = {
    bundle,
    options,
    params: resolveParams(bundle, options.params),
    policies: sop.policies ?? {},
    defaults: sop.defaults ?? {},
  };
  const triggers = triggerSpecs(sop);
  const emits = emitSpecs(sop.emits);
  const steps = Object.entries(sop.steps).map(([name, step]) => stepSpec(from, name, step));
  const artifacts: ArtifactSpec[] = Object.entries(sop.artifacts ?? {}).map(([name, a]) => ({
    name,
    kind: a.kind,
    path: a.path,
    required: a.required ?? false,
    ...optional('schema', a.schema ? (JSON.parse(bundle.files[a.schema]) as JsonSchema) : undefined),
  }));
  return {
    sop: bundle.name,
    ...optional('title', bundle.title),
    bundleHash: bundle.hash,
    steps,
    artifacts,
    worklists: Object.entries(sop.worklists ?? {}).map(([name, w]) => ({
      name,
      from: w.from,
      collection: w.collection,
      id: w.id ?? 'id',
      title: w.title ?? 'title',
      status: w.status ?? 'status',
    })),
    budgets: budgetsOf(sop.budget ?? {}),
    inputSchema: inputSchema(bundle),
    ...(triggers.length > 0 ? { triggers } : {}),
    ...(emits.length > 0 ? { emits } : {}),
    ...(sop.secrets?.length ? { secrets: sop.secrets } : {}),
    ...optional('deliver', deliverPlan(sop.deliver)),
    ...optional('quotas', quotaLimits(bundle.quotas)),
  };
}

/** What a plan is made from: the bundle, the run's params and provider override, the SOP's policies and defaults. */
interface PlanSource {
  bundle: SopBundle;
  options: PlanOptions;
  params: Record<string, unknown>;
  policies: NonNullable<SopBundle['definition']['policies']>;
  defaults: NonNullable<SopBundle['definition']['defaults']>;
}

/** A count (max_rework and the like): a number, or `{{ params.NAME }}` naming a whole number ≥ 0. */
function count(from: PlanSource, value: number | string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const name = /params\.([\w-]+)/.exec(value)![1];
  const resolved = from.params[name];
  if (typeof resolved !== 'number' || !Number.isInteger(resolved) || resolved < 0) {
    throw new Error(
      `${what} comes from params.${name}, which is ${JSON.stringify(resolved)}: it must be a whole number ≥ 0`,
    );
  }
  return resolved;
}

function target(t: NormalTarget): RouteTarget {
  switch (t.kind) {
    case 'advance':
      return { kind: 'advance', exhausted: target(t.exhausted) };
    case 'request_input':
      return { kind: 'request_input', request: inputRequest(t.spec, target) };
    default:
      return t;
  }
}

function targetOf(value: Target | undefined, fallback: RouteTarget): RouteTarget {
  return value === undefined ? fallback : target(normalTarget(value));
}

/** One step of the plan: its routes and limits, then what its kind runs. */
function stepSpec(from: PlanSource, name: string, step: SopStep): StepSpec {
  const { defaults } = from;
  const kind = stepKind(step);
  const forEach = forEachOf(step);
  const timeoutMs = durationMs(
    step.timeout ??
      defaults.timeout ??
      (kind === 'command' ? DEFAULT_COMMAND_TIMEOUT_MS : DEFAULT_STEP_TIMEOUT_MS),
  );
  const spec: StepSpec = {
    name,
    kind,
    ...optional('title', step.title),
    after: step.after ?? [],
    routes: effectiveRoutes(step).map((r) => {
      const emits = routeEmits(step, r.name);
      return {
        name: r.name,
        target: target(r.target!),
        requires: r.requires,
        ...(emits.length > 0 ? { emits } : {}),
      };
    }),
    maxRework: count(
      from,
      step.max_rework ?? defaults.max_rework,
      DEFAULT_MAX_REWORK,
      `steps.${name}.max_rework`,
    ),
    onReworkExhausted: targetOf(step.on_rework_exhausted, {
      kind: 'fail',
      reason: `step ${name}: the verifier rejected the work too many times`,
    }),
    maxAttempts: Math.max(
      1,
      count(
        from,
        step.max_attempts ?? defaults.max_attempts,
        DEFAULT_MAX_ATTEMPTS,
        `steps.${name}.max_attempts`,
      ),
    ),
    maxLaunchFailures: Math.max(
      1,
      count(
        from,
        step.max_launch_failures ?? defaults.max_launch_failures,
        DEFAULT_MAX_LAUNCH_FAILURES,
        `steps.${name}.max_launch_failures`,
      ),
    ),
    onFailure: targetOf(step.on_failure, { kind: 'fail', reason: `step ${name} failed` }),
    timeoutMs,
  };
  if (forEach) {
    spec.forEach = {
      worklist: forEach.worklist,
      concurrency: Math.max(1, count(from, forEach.concurrency, 1, `steps.${name}.concurrency`)),
    };
  }
  addKindSpec(from, spec, step, timeoutMs);
  return spec;
}

/** What the step's kind runs: its agent or producer and verifier, its command, the SOP it calls, its question. */
function addKindSpec(from: PlanSource, spec: StepSpec, step: SopStep, timeoutMs: number): void {
  const { kind } = spec;
  if (kind === 'agent') spec.agent = roleSpec(from, step, 'agent');
  if (kind === 'produce_verify') {
    spec.producer = roleSpec(from, step, 'producer');
    spec.verifier = roleSpec(from, step, 'verifier');
  }
  if (kind === 'command') {
    const run = step.run!.replace(/\{\{\s*params\.([\w-]+)\s*\}\}/g, (_, param: string) =>
      String(from.params[param]),
    );
    spec.command = { run, timeoutMs, ...optional('env', step.env) };
  }
  if (kind === 'sop') {
    spec.call = { sop: step.sop!, input: step.input ?? {}, ...optional('routeOn', step.route_on) };
  }
  if (kind === 'input') {
    spec.input = inputRequest(
      {
        question: step.question!,
        answer: step.answer,
        route_on: step.route_on,
        timeout: step.timeout,
        on_timeout: step.on_timeout,
      },
      target,
      Object.keys(step.routes ?? {}),
    );
    if (step.review !== undefined) {
      spec.input.schema = REVIEW_ANSWER_SCHEMA;
      spec.input.review = step.review === true || !step.review.allow ? {} : { allow: step.review.allow };
    }
    // the step's own timeout is the answer timeout, not a harness limit
  }
}

/** A role (agent, producer, verifier): its prompt, merged policy, provider and model, session, tools. */
function roleSpec(from: PlanSource, step: SopStep, which: 'agent' | 'producer' | 'verifier'): RoleSpec {
  const { bundle, defaults, options } = from;
  const policyOf = (ref: unknown): Policy | undefined =>
    typeof ref === 'string' ? from.policies[ref] : (ref as Policy);
  const spec = roleOf(step, which);
  const provider = spec.provider ?? options.provider ?? defaults.provider ?? DEFAULT_PROVIDER;
  const settings = bundle.providers?.[provider] ?? {};
  const policy = mergePolicies(
    DEFAULT_POLICY,
    policyOf(defaults.policy),
    policyOf(step.policy),
    which === 'agent' ? undefined : policyOf(step[which]?.policy),
  );
  return {
    prompt: bundle.files[spec.prompt!],
    promptFile: spec.prompt!,
    writes: spec.writes ?? [],
    policy,
    provider,
    ...optional('model', spec.model ?? defaults.model ?? settings.model),
    ...optional('effort', spec.effort ?? defaults.effort ?? settings.effort),
    ...optional('prices', provider === 'codex' ? bundle.providers?.codex?.prices : undefined),
    ...optional('session', spec.session === 'fresh' ? undefined : spec.session),
    ...optional('tools', toolGrants(bundle, spec.tools)),
    ...optional('profile', profileOf(step, which)),
    ...optional('skills', spec.skills && bundleSkills(bundle.files, spec.skills)),
    ...optional('quota', step.quota),
  };
}

function toolGrants(bundle: SopBundle, tools: Record<string, string[]> | undefined): ToolGrant[] | undefined {
  return (
    tools &&
    Object.entries(tools).map(([server, allow]) => ({
      server,
      spec: bundle.definition.mcp_servers![server],
      allow,
    }))
  );
}

function budgetsOf(budget: NonNullable<SopBundle['definition']['budget']>): ExecutionPlan['budgets'] {
  return {
    ...optional('maxUsd', budget.max_usd),
    ...optional('maxTokens', budget.max_tokens),
    ...optional('maxAgentRuns', budget.max_agent_runs),
    maxSteps: budget.max_steps ?? DEFAULT_MAX_STEPS,
    ...optional('maxWorkerLosses', budget.max_worker_losses),
    ...optional(
      'maxWallClockMs',
      budget.max_wall_clock === undefined ? undefined : durationMs(budget.max_wall_clock),
    ),
  };
}

/** sop.config.yaml's `quotas:` as the plan carries them (absent when the project declares none). */
function quotaLimits(quotas: SopBundle['quotas']): Record<string, QuotaLimits> | undefined {
  if (!quotas || Object.keys(quotas).length === 0) return undefined;
  return Object.fromEntries(
    Object.entries(quotas).map(([key, q]) => [
      key,
      {
        ...optional('concurrent', q.concurrent),
        ...optional('tokensPerMinute', q.tokens_per_minute),
        ...optional('usdPerDay', q.usd_per_day),
        ...optional('onSpendCap', q.on_spend_cap),
        ...optional('windowStartUtc', q.window_start_utc),
        ...optional('holderCheckMs', q.holder_check === undefined ? undefined : durationMs(q.holder_check)),
      },
    ]),
  );
}

function inputRequest(
  spec: {
    question: string;
    answer?: Parameters<typeof fieldsToJsonSchema>[0];
    route_on?: string;
    timeout?: number | string;
    on_timeout?: Target;
    routes?: Record<string, Target>;
    agent_asks?: true | { max_length?: number; answer_schema?: boolean };
  },
  target: (t: NormalTarget) => RouteTarget,
  stepRouteNames?: string[],
): InputRequestSpec {
  const routing = answerRouting(spec.route_on, stepRouteNames ?? Object.keys(spec.routes ?? {}));
  const schema = spec.answer
    ? fieldsToJsonSchema(spec.answer)
    : routing.kind === 'approval'
      ? APPROVAL_ANSWER_SCHEMA
      : {
          type: 'object',
          properties: { answer: { type: 'string' } },
          required: ['answer'],
          additionalProperties: false,
        };
  return {
    question: spec.question,
    schema,
    ...optional('timeoutMs', spec.timeout === undefined ? undefined : durationMs(spec.timeout)),
    ...optional(
      'onTimeout',
      spec.on_timeout === undefined ? undefined : target(normalTarget(spec.on_timeout)),
    ),
    ...optional('routeOn', routing.kind === 'answered' ? undefined : routing),
    ...optional(
      'routes',
      spec.routes === undefined
        ? undefined
        : Object.entries(spec.routes).map(([name, t]) => ({
            name,
            target: target(normalTarget(t)),
            requires: [],
          })),
    ),
    ...optional(
      'agentAsks',
      spec.agent_asks === undefined
        ? undefined
        : {
            maxLength:
              (spec.agent_asks === true ? undefined : spec.agent_asks.max_length) ??
              AGENT_QUESTION_DEFAULT_MAX,
            answerSchema: (spec.agent_asks === true ? undefined : spec.agent_asks.answer_schema) ?? true,
          },
    ),
  };
}

/** `{ key: value }` when value is defined, `{}` otherwise: keeps undefined out of workflow payloads. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
