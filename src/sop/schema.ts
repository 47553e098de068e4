// The SOP authoring format (sops/<name>/sop.yaml) and the project config (sop.config.yaml) as zod
// schemas: the single source of truth for what a user may write. Types are inferred from them; the
// compiler adds the cross-reference checks a schema cannot express (route targets, reachability,
// templates, files).

import { z } from 'zod';
import { SECRET_NAME } from '../policies/secrets';
import { AGENT_QUESTION_LIMIT } from '../shapes/agent-question';
import { Duration } from '../shapes/duration';
import { NAME_MESSAGE, NAME_PATTERN } from '../shapes/names';
import { PolicySchema } from '../shapes/policy';
import { PriceTable } from '../shapes/pricing';
import { StepTools, ToolServer } from '../shapes/tool-grants';
import { Deliver } from './deliver';
import { Emits, Trigger } from './trigger-schema';

const Name = z.string().regex(NAME_PATTERN, NAME_MESSAGE);

const Provider = z.enum(['codex', 'claude']);
const Effort = z.enum(['minimal', 'low', 'medium', 'high', 'xhigh', 'max']);

/** `{{ params.x }}` where a number is expected: resolved when the run starts (params may be overridden). */
const TEMPLATE_ONLY = /^\{\{\s*params\.[\w-]+\s*\}\}$/;
const ParamRef = z.string().regex(TEMPLATE_ONLY, 'must be a number or exactly "{{ params.NAME }}"');
const count = (max: number) => z.union([z.number().int().min(0).max(max), ParamRef]);

/**
 * One field of `input`, `params` or an answer: a JSON Schema fragment. Only the keywords listed here are
 * accepted, so a typo (`minLenght`) is an error instead of a silently ignored constraint.
 */
export interface FieldSchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object';
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  items?: FieldSchema;
  properties?: Record<string, FieldSchema>;
  required?: boolean | string[];
}
export const FieldSchema: z.ZodType<FieldSchema> = z.lazy(() =>
  z.strictObject({
    type: z.enum(['string', 'integer', 'number', 'boolean', 'array', 'object']).optional(),
    description: z.string().optional(),
    default: z.unknown().optional(),
    enum: z.array(z.unknown()).min(1).optional(),
    minLength: z.number().int().min(0).optional(),
    maxLength: z.number().int().min(0).optional(),
    pattern: z.string().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    items: FieldSchema.optional(),
    properties: z.record(z.string(), FieldSchema).optional(),
    /** on a field: false makes it optional (fields are required unless they have a default) */
    required: z.union([z.boolean(), z.array(z.string())]).optional(),
  }),
);

/** A field given by its type alone (`request: string`) or as a schema fragment. */
const Field = z.union([z.enum(['string', 'integer', 'number', 'boolean', 'array', 'object']), FieldSchema]);
const Fields = z.record(Name, Field);

/** A named policy (from `policies:` here or in sop.config.yaml) or an inline one. */
const PolicyRef = z.union([Name, PolicySchema]);

const RequestInputSpec = z.strictObject({
  question: z.string().min(1),
  /** the answer's fields; `{ approve: boolean, guidance: string }` */
  answer: Fields.optional(),
  /** route on this enum field of the answer (each value needs a route) */
  route_on: Name.optional(),
  timeout: Duration.optional(),
  /**
   * on a route of an agent step: the agent's outcome may carry its own question for the person (shown next
   * to `question`), with its reason and, if allowed, the answer's fields narrowed
   */
  agent_asks: z
    .union([
      z.literal(true),
      z.strictObject({
        /** the longest question accepted (characters, default 1000) */
        max_length: z.number().int().min(1).max(AGENT_QUESTION_LIMIT).optional(),
        /** whether the agent may narrow the answer's fields (default true) */
        answer_schema: z.boolean().optional(),
      }),
    ])
    .optional(),
  get on_timeout() {
    return Target.optional();
  },
  /**
   * where the answer goes: `approved` / `rejected` (an approval), or one route per value of `route_on`;
   * without routes, the answer goes back into the next prompt of the step that asked
   */
  get routes() {
    return z.record(Name, Target).optional();
  },
});

/**
 * Where a route (or a failure, exhaustion, timeout) goes. Strings are shorthands: a step name, `finish`
 * or `fail`.
 */
export type Target =
  | string
  | { to: string }
  | { finish: true }
  | { fail: true | string }
  | { request_input: z.infer<typeof RequestInputSpec> };
export const Target: z.ZodType<Target> = z.lazy(() =>
  z.union([
    z.string().min(1),
    z.strictObject({ to: z.string().min(1) }),
    z.strictObject({ finish: z.literal(true) }),
    z.strictObject({ fail: z.union([z.literal(true), z.string().min(1)]) }),
    z.strictObject({ request_input: RequestInputSpec }),
  ]),
);

const RouteSpec = z.strictObject({
  to: z.string().min(1).optional(),
  finish: z.literal(true).optional(),
  fail: z.union([z.literal(true), z.string().min(1)]).optional(),
  request_input: RequestInputSpec.optional(),
  /** worklist steps: mark the item done and move to the next one; `exhausted` when none is left */
  complete_and_advance: z.literal(true).optional(),
  exhausted: Target.optional(),
  /** artifacts that must exist, be valid and be written by this attempt */
  requires: z.array(Name).optional(),
  /** events this route emits when taken (listeners: other SOPs' `triggers: { NAME: { event } }`) */
  emits: Emits.optional(),
  description: z.string().optional(),
});
/** A route is a target shorthand (`accepted: implement`) or a full spec. */
const Route = z.union([z.string().min(1), RouteSpec]);

/**
 * Which harness session an agent execution continues: `fresh` (default) starts a new one every time;
 * `step`, `item` (per work item) and `run` keep one per step, item or run; any other name is a slot
 * shared by every role that names it.
 */
const Session = Name.describe('fresh | step | item | run | a slot name');

/** A skill's folder name (as Claude Code and Codex name skills: lower-case letters, digits and -). */
const SkillName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a skill name: lower-case letters, digits and - (at most 64)');

/** Environment variables by name; a value may refer to a secret as `${{ secrets.NAME }}`. */
const EnvVars = z.record(z.string().regex(SECRET_NAME, 'an environment variable name'), z.string());

/** Secrets the SOP needs (from the worker's environment or SOP_SECRETS_FILE), by name. */
const SecretNames = z.array(z.string().regex(SECRET_NAME, 'a secret name (an environment variable name)'));

/**
 * A named agent profile (`agents:` in sop.yaml or sop.config.yaml): the harness settings a step names with
 * `agent: NAME` instead of repeating them. A field the step (or role) sets itself wins over the profile's.
 */
export const AgentProfile = z.strictObject({
  description: z.string().optional(),
  provider: Provider.optional(),
  model: z.string().min(1).optional(),
  effort: Effort.optional(),
  policy: PolicyRef.optional(),
  /** the MCP servers (of `mcp_servers:`) and per server the tools a step with this profile may call */
  tools: StepTools.optional(),
  /** skills a step with this profile loads (their folders: see the skills documentation) */
  skills: z.array(SkillName).optional(),
  session: Session.optional(),
});
export type AgentProfile = z.infer<typeof AgentProfile>;

const Role = z.strictObject({
  /** a profile of `agents:` whose fields this role takes unless it sets them itself */
  agent: Name.optional(),
  prompt: z.string().min(1),
  session: Session.optional(),
  writes: z.array(Name).optional(),
  policy: PolicyRef.optional(),
  provider: Provider.optional(),
  model: z.string().min(1).optional(),
  effort: Effort.optional(),
  /** the MCP servers (of `mcp_servers:`) this role may use, and per server the tools it may call */
  tools: StepTools.optional(),
  /** skills (folders skills/<name>/ with a SKILL.md, next to the SOP) installed into the harness for it */
  skills: z.array(SkillName).optional(),
});

const ForEach = z.union([Name, z.strictObject({ worklist: Name, concurrency: count(64).optional() })]);

const StepKind = z.enum(['agent', 'produce_verify', 'command', 'input', 'sop']);

const Step = z.strictObject({
  kind: StepKind.optional(),
  title: z.string().optional(),
  description: z.string().optional(),
  after: z.array(Name).optional(),
  for_each: ForEach.optional(),
  concurrency: count(64).optional(),
  // agent
  /** a profile of `agents:` whose fields this step takes unless it sets them itself */
  agent: Name.optional(),
  prompt: z.string().min(1).optional(),
  session: Session.optional(),
  writes: z.array(Name).optional(),
  policy: PolicyRef.optional(),
  provider: Provider.optional(),
  model: z.string().min(1).optional(),
  effort: Effort.optional(),
  /** the MCP servers (of `mcp_servers:`) this step may use, and per server the tools it may call */
  tools: StepTools.optional(),
  /** skills (folders skills/<name>/ with a SKILL.md, next to the SOP) installed into the harness for it */
  skills: z.array(SkillName).optional(),
  // produce_verify
  producer: Role.optional(),
  verifier: Role.optional(),
  // command
  run: z.string().min(1).optional(),
  /** the command's environment besides the worker's; a value may be `${{ secrets.NAME }}` */
  env: EnvVars.optional(),
  // input
  question: z.string().min(1).optional(),
  answer: Fields.optional(),
  /**
   * input steps: route on this enum field of the answer (each value needs a route); sop steps: route on
   * the route this step of the called SOP took (each of its routes needs a route here, plus `failed`)
   */
  route_on: Name.optional(),
  /**
   * input steps: a review gate, answered by the review of the run's pull request (approved → `approved`,
   * changes requested or `/sop rework <text>` → `rejected`); `allow:` the GitHub logins whose review or
   * command counts (default: the repository's owners, members and collaborators)
   */
  review: z
    .union([z.literal(true), z.strictObject({ allow: z.array(z.string().min(1)).min(1).optional() })])
    .optional(),
  // sop: run another SOP of the catalog as a child run
  sop: Name.optional(),
  /** sop steps: the called SOP's input, each string a template over this run's input, params and steps */
  input: z.record(Name, z.unknown()).optional(),
  on_timeout: Target.optional(),
  routes: z.record(Name, Route).optional(),
  max_rework: count(100).optional(),
  on_rework_exhausted: Target.optional(),
  max_attempts: count(20).optional(),
  max_launch_failures: count(20).optional(),
  on_failure: Target.optional(),
  timeout: Duration.optional(),
  /** a quota key declared under `quotas:` in sop.config.yaml that this step's agent launches also acquire */
  quota: z.string().min(1).optional(),
});

const ArtifactKind = z.enum(['json', 'md', 'text', 'raw']);
const Artifact = z.strictObject({
  kind: ArtifactKind,
  path: z.string().min(1),
  required: z.boolean().optional(),
  /** JSON artifacts: a schema file in the SOP folder */
  schema: z.string().min(1).optional(),
  description: z.string().optional(),
});

const Worklist = z.strictObject({
  from: Name,
  collection: z.string().min(1),
  id: z.string().min(1).optional(),
  title: z.string().min(1).optional(),
  status: z.string().min(1).optional(),
});

const Budget = z.strictObject({
  max_usd: z.number().positive().optional(),
  max_tokens: z.number().int().positive().optional(),
  max_agent_runs: z.number().int().positive().optional(),
  max_wall_clock: Duration.optional(),
  /** how many steps the run may start in all (a step entered again by a route counts again); default 500 */
  max_steps: z.number().int().positive().optional(),
  /** launches lost with their worker (crash, kill, drain) the whole run tolerates */
  max_worker_losses: z.number().int().min(0).optional(),
});

const Defaults = z.strictObject({
  provider: Provider.optional(),
  model: z.string().min(1).optional(),
  effort: Effort.optional(),
  policy: PolicyRef.optional(),
  timeout: Duration.optional(),
  max_attempts: count(20).optional(),
  max_launch_failures: count(20).optional(),
  max_rework: count(100).optional(),
});

export const SopFile = z.strictObject({
  name: Name,
  title: z.string().optional(),
  description: z.string().optional(),
  version: z.union([z.string().min(1), z.number()]).optional(),
  aliases: z.array(Name).optional(),
  input: Fields.optional(),
  params: Fields.optional(),
  defaults: Defaults.optional(),
  policies: z.record(Name, PolicySchema).optional(),
  /** named agent profiles (`agent: NAME` on a step or role); sop.config.yaml may declare more */
  agents: z.record(Name, AgentProfile).optional(),
  /** MCP tool servers the steps may use (`tools:` on a step); the project's sop.config.yaml may declare more */
  mcp_servers: z.record(Name, ToolServer).optional(),
  /** the secrets its tool servers and command steps refer to (`${{ secrets.NAME }}`); checked at run start */
  secrets: SecretNames.optional(),
  budget: Budget.optional(),
  artifacts: z.record(Name, Artifact).optional(),
  worklists: z.record(Name, Worklist).optional(),
  steps: z
    .record(Name, Step)
    .refine((steps) => Object.keys(steps).length > 0, 'an SOP needs at least one step'),
  /** what starts this SOP besides a person: schedules, webhooks, events of other SOPs, polling sensors */
  triggers: z.record(Name, Trigger).optional(),
  /** events emitted when a run finishes (by any route to finish) */
  emits: Emits.optional(),
  /** what the runtime writes to the forge for a run: pull request, comments, labels, statuses (docs/forge.md) */
  deliver: Deliver.optional(),
});
export type SopFile = z.infer<typeof SopFile>;
export type SopStep = z.infer<typeof Step>;
export type SopRole = z.infer<typeof Role>;
export type SopRoute = z.infer<typeof Route>;
export type SopArtifact = z.infer<typeof Artifact>;
export type SopFields = z.infer<typeof Fields>;

const ProviderSettings = z.strictObject({
  model: z.string().min(1).optional(),
  effort: Effort.optional(),
});

/** One quota key of sop.config.yaml (docs/quotas.md): at least one limit. */
const QuotaSchema = z
  .strictObject({
    /** agent executions at once, across every run and worker */
    concurrent: z.number().int().positive().optional(),
    /** tokens (in + out) the launches of the last minute may use before another starts */
    tokens_per_minute: z.number().int().positive().optional(),
    /** USD per day (UTC window) */
    usd_per_day: z.number().positive().optional(),
    /** past usd_per_day: `wait` for the next window (default) or `fail` the run */
    on_spend_cap: z.enum(['wait', 'fail']).optional(),
    /** HH:MM, UTC: when the daily USD window starts (default 00:00) */
    window_start_utc: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a UTC time of day like "00:00" or "07:30"')
      .optional(),
    /** how often a full key checks that the runs holding it still exist (default 30s) */
    holder_check: Duration.optional(),
  })
  .refine((q) => q.concurrent ?? q.tokens_per_minute ?? q.usd_per_day, {
    message: 'a quota needs at least one of concurrent, tokens_per_minute, usd_per_day',
  });

/** sop.config.yaml at the project root: defaults and named policies shared by all SOPs. */
export const ProjectConfig = z.strictObject({
  defaults: Defaults.optional(),
  policies: z.record(Name, PolicySchema).optional(),
  /** agent profiles every SOP of the project may name (an SOP's own profile of the same name wins) */
  agents: z.record(Name, AgentProfile).optional(),
  /** MCP tool servers every SOP of the project may use (an SOP's own entry of the same name wins) */
  mcp_servers: z.record(Name, ToolServer).optional(),
  /** secrets the project's tool servers refer to; every SOP may refer to them too */
  secrets: SecretNames.optional(),
  /**
   * limits shared by every run of every worker: by `<provider>/<model>` (codex/gpt-5), `<provider>`, or a
   * label steps name with `quota:` (docs/quotas.md)
   */
  quotas: z
    .record(
      z
        .string()
        .regex(
          /^[\w.-]+(\/[\w.:-]+)?$/,
          'must be <provider>/<model>, <provider> or a label of letters, digits, . _ -',
        ),
      QuotaSchema,
    )
    .optional(),
  providers: z
    .strictObject({
      codex: ProviderSettings.extend({
        /** USD per million tokens by model id: Codex reports no cost (wins over SOP_PRICES and the built-in table) */
        prices: PriceTable.optional(),
      }).optional(),
      claude: ProviderSettings.optional(),
    })
    .optional(),
});
export type ProjectConfig = z.infer<typeof ProjectConfig>;
