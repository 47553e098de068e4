// The execution plan: the part of a compiled SOP bundle that the interpreter workflow reads. Plain data
// and plain types only (no zod, no node modules): it travels in the workflow input and is read by
// deterministic code. The compiler derives it from a bundle (src/sop), so a run is pinned to the plan
// it started with.

import type { DeliverPlan } from './deliveries';
import type { Policy } from './policy';
import type { PriceTable } from './pricing';
import type { QuotaLimits } from './quota';
import type { ToolGrant } from './tool-grants';
import type { EmitSpec, TriggerSpec } from './triggers';

export type JsonSchema = Record<string, unknown>;

export type RouteTarget =
  | { kind: 'step'; step: string }
  | { kind: 'finish' }
  | { kind: 'fail'; reason?: string }
  /** worklist: mark the current item done, move to the next; `exhausted` when none is left */
  | { kind: 'advance'; exhausted: RouteTarget }
  | { kind: 'request_input'; request: InputRequestSpec };

export interface RouteSpec {
  name: string;
  target: RouteTarget;
  /** artifacts that must exist, be valid, and be written by this attempt when this route is taken */
  requires: string[];
  /** events emitted when this route is taken; absent: none */
  emits?: EmitSpec[];
  /** what the runtime writes to the forge for the run, and what agents may ask for (`deliver:`); absent: none */
  deliver?: DeliverPlan;
}

/** The answer of an approval (what `sop answer --approve | --reject WHY` sends) when the SOP names none. */
export const APPROVAL_ANSWER_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    approve: { type: 'boolean' },
    guidance: { type: 'string', description: 'why, when rejected' },
  },
  required: ['approve'],
  additionalProperties: false,
};

/** `agent_asks:` on a request_input, as the plan holds it (shapes/agent-question.ts checks the questions). */
interface AgentAsksSpec {
  /** the longest question accepted, in characters */
  maxLength: number;
  /** whether the agent may narrow the answer's fields (`answer_schema`) */
  answerSchema: boolean;
}
/**
 * A review gate's answer: the approval, and when the pull request's review gave it, the review itself
 * (who, what state, its body and inline comments). `sop answer --approve | --reject WHY` still fits.
 */
export const REVIEW_ANSWER_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    approve: { type: 'boolean' },
    guidance: { type: 'string', description: 'why, when rejected' },
    review: { type: 'object', description: 'the pull request review that answered (forge-review.ts)' },
  },
  required: ['approve'],
  additionalProperties: false,
};

export interface InputRequestSpec {
  /** a template: may use {{ step.rework }}, {{ item.title }}, ... */
  question: string;
  /** JSON Schema of the answer */
  schema: JsonSchema;
  timeoutMs?: number;
  onTimeout?: RouteTarget;
  /**
   * how the answer picks a route: an approval (`approve` true → `approved`, false → `rejected`) or the
   * value of an enum field; absent: every answer routes `answered`
   */
  routeOn?: { kind: 'approval' } | { kind: 'field'; field: string };
  /** request_input only: where each answer route goes; absent: back into the step that asked */
  routes?: RouteSpec[];
  /** request_input on an agent's route: the agent may write its own question (`agent_asks:`) */
  agentAsks?: AgentAsksSpec;
  /**
   * a review gate: the run pull request's review answers it (forgeReview signal); `allow`: the logins
   * whose review or `/sop rework` counts (absent: owners, members and collaborators of the repository)
   */
  review?: { allow?: string[] };
}

export type Provider = 'codex' | 'claude';

export interface RoleSpec {
  /** prompt template text (from the bundle) and the file it came from */
  prompt: string;
  promptFile: string;
  /** artifacts this role is expected to write */
  writes: string[];
  policy: Policy;
  provider: Provider;
  model?: string;
  effort?: string;
  /** codex: prices by model id from sop.config.yaml (providers.codex.prices) */
  prices?: PriceTable;
  /** `session:` other than fresh: `step`, `item`, `run` or a slot name shared by the roles naming it */
  session?: string;
  /** the MCP servers the role may use (`tools:`), with how to start each and the tools it allows */
  tools?: ToolGrant[];
  /** the agent profile (`agent:`) the role's settings came from, for `sop workflows show` */
  profile?: string;
  /** the skills installed into the harness for the role (`skills:`) */
  skills?: SkillSpec[];
  /** the step's `quota:` label: a key its launches acquire besides `<provider>/<model>` */
  quota?: string;
}

/** A skill folder: SKILL.md and its other files (text, by path relative to the folder), and their hash. */
export interface SkillSpec {
  name: string;
  sha256: string;
  files: Record<string, string>;
}

/** The slot key of a role's session in this step (and item); undefined for fresh sessions. */
export function sessionSlot(session: string | undefined, step: string, item?: string): string | undefined {
  switch (session) {
    case undefined:
    case 'fresh':
      return undefined;
    case 'step':
      return `step:${step}`;
    case 'item':
      return item === undefined ? `step:${step}` : `item:${step}:${item}`;
    case 'run':
      return 'run';
    default:
      return `name:${session}`;
  }
}

interface CommandSpec {
  /** shell command run in the workspace; a template */
  run: string;
  timeoutMs: number;
  /** `env:` besides the worker's environment: values may hold `${{ secrets.NAME }}`, filled on the worker */
  env?: Record<string, string>;
}

/** A `kind: sop` step: another SOP of the catalog, run as a child run. */
interface SopCallSpec {
  /** the called SOP's name (or alias), as written */
  sop: string;
  /** the child's input: strings are templates over this run's input, params and steps */
  input: Record<string, unknown>;
  /** route on the route this step of the child took (absent: on its final status, completed / failed) */
  routeOn?: string;
}

export interface StepSpec {
  name: string;
  kind: 'agent' | 'produce_verify' | 'command' | 'input' | 'sop';
  title?: string;
  /** DAG dependencies: this step starts when all of them are done */
  after: string[];
  forEach?: { worklist: string; concurrency: number };
  /** kind agent: the one role; produce_verify: producer + verifier */
  agent?: RoleSpec;
  producer?: RoleSpec;
  verifier?: RoleSpec;
  command?: CommandSpec;
  /** kind input: what to ask */
  input?: InputRequestSpec;
  /** kind sop: the SOP to run as a child run */
  call?: SopCallSpec;
  /**
   * Legal outcomes. Agent/verifier: the route the outcome names. Command: `passed` (exit 0) / `failed`.
   * Sop: `completed` / `failed` (the child's final status), or the route call.routeOn took, plus `failed`.
   * Input: `answered`, `approved` / `rejected`, or the values of input.routeOn (and `timed_out` via
   * input.onTimeout).
   */
  routes: RouteSpec[];
  maxRework: number;
  onReworkExhausted: RouteTarget;
  /** agent-protocol failures (bad outcome, illegal route, missing/stale artifact) tolerated per run of a role */
  maxAttempts: number;
  /**
   * failed harness launches (crash, hang, step timeout, model API error) per attempt before the run
   * fails; absent in plans compiled before it existed (3). Lost workers do not count.
   */
  maxLaunchFailures?: number;
  onFailure: RouteTarget;
  /** per harness execution */
  timeoutMs: number;
}

export interface ArtifactSpec {
  name: string;
  kind: 'json' | 'md' | 'text' | 'raw';
  /** workspace-relative path template, e.g. `{{ run.folder }}/items/{{ item.key }}/review.md` */
  path: string;
  required: boolean;
  schema?: JsonSchema;
}

export interface WorklistSpec {
  name: string;
  /** the JSON artifact holding the items */
  from: string;
  collection: string;
  id: string;
  title: string;
  status: string;
}

export interface Budgets {
  maxUsd?: number;
  maxTokens?: number;
  maxAgentRuns?: number;
  /** launches lost with their worker the run tolerates (default 50); one more fails the run */
  maxWorkerLosses?: number;
  /** wall clock of the whole run */
  maxWallClockMs?: number;
  /** steps the run may start in all (DEFAULT_MAX_STEPS when absent): ends a run that cycles between steps */
  maxSteps?: number;
}

/** `budget: max_steps` when the SOP does not set it. */
export const DEFAULT_MAX_STEPS = 500;

export interface ExecutionPlan {
  sop: string;
  title?: string;
  bundleHash: string;
  /** in declaration order; the first step without `after` is where a route-driven SOP starts */
  steps: StepSpec[];
  artifacts: ArtifactSpec[];
  worklists: WorklistSpec[];
  budgets: Budgets;
  /** JSON Schema of the run input; checked by the client before any workflow starts */
  inputSchema?: JsonSchema;
  /** what starts this SOP besides a person (`triggers:`); absent: none */
  triggers?: TriggerSpec[];
  /** events emitted when the run finishes (the SOP's top-level `emits:`); absent: none */
  emits?: EmitSpec[];
  /** what the runtime writes to the forge for the run, and what agents may ask for (`deliver:`); absent: none */
  deliver?: DeliverPlan;
  /** the secrets the SOP declares (`secrets:`): the worker that resolves the run must have each */
  secrets?: string[];
  /** the project's quota keys (sop.config.yaml `quotas:`); absent: launches acquire nothing */
  quotas?: Record<string, QuotaLimits>;
}
