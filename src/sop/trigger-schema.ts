// What starts an SOP besides a person: the `triggers:` section (schedule, webhook, event, poll) and the
// `emits:` declarations on routes and on finish. zod schemas, the single source of truth for the
// authoring format; the compiler (trigger-checks.ts, event-graph.ts) adds what a schema cannot express.

import { z } from 'zod';
import { Duration } from '../shapes/duration';
import { NAME_MESSAGE, NAME_PATTERN } from '../shapes/names';

const Name = z.string().regex(NAME_PATTERN, NAME_MESSAGE);

/**
 * The run input a trigger produces: field → value. A string may hold templates over the trigger's
 * context (`{{ payload.issue.title }}`); a string that is exactly one `{{ ... }}` keeps the value's type.
 */
const TriggerInputMapping = z.record(Name, z.unknown());

/** Where the triggered run works: a local path (absolute, or relative to the project root) or a remote. */
const TriggerRepo = z.strictObject({
  path: z.string().min(1).optional(),
  url: z.string().min(1).optional(),
  ref: z.string().min(1).optional(),
});

export const ScheduleOverlap = z.enum([
  'skip',
  'buffer_one',
  'buffer_all',
  'allow_all',
  'cancel_other',
  'terminate_other',
]);

const ScheduleTrigger = z.strictObject({
  /** a cron expression (5 fields, or 6 with seconds first) or several */
  cron: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** an interval: "5s", "1h", "1d" */
  every: Duration.optional(),
  /** IANA time zone name for cron (default UTC) */
  timezone: z.string().min(1).optional(),
  /** what happens when a run is still going at the next fire time (default skip) */
  overlap: ScheduleOverlap.optional(),
  /** a random delay up to this long before each run */
  jitter: Duration.optional(),
});

const WebhookSignature = z.enum(['github', 'hmac-sha256']);

const WebhookFilter = z.strictObject({
  /** GitHub `X-GitHub-Event` (or the declared event header) values to accept */
  event: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** payload.action values to accept */
  action: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** branches (payload.ref without refs/heads/) to accept */
  branch: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** the delivery must carry one of these labels (payload.label.name or payload.<issue|pull_request>.labels) */
  labels: z.array(z.string().min(1)).min(1).optional(),
});

const WebhookTrigger = z.strictObject({
  /** the hook's name: POST /hooks/<name> */
  name: Name,
  /** the environment variable holding the shared secret (the secret itself is never written here) */
  secret_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
  signature: WebhookSignature.optional(),
  filter: WebhookFilter.optional(),
  /**
   * where the delivery id comes from (default: the X-GitHub-Delivery header): `header:<Name>` or
   * `payload:<dotted.path>`; it becomes part of the workflow id, so a redelivery starts nothing
   */
  dedupe: z
    .string()
    .regex(/^(header|payload):.+$/, 'must be "header:<Name>" or "payload:<dotted.path>"')
    .optional(),
});

const PollHttp = z.strictObject({
  url: z.string().url(),
  /** header values may name environment variables as {{ env.NAME }} */
  headers: z.record(z.string(), z.string()).optional(),
});

const PollTrigger = z.strictObject({
  /** a shell command (run in the project root) printing a JSON list of items */
  command: z.string().min(1).optional(),
  /** or an HTTP GET answering a JSON list of items */
  http: PollHttp.optional(),
  every: Duration,
  /** the dotted path of each item's unique id */
  item_id: z.string().min(1),
  /** a dotted path (e.g. `updated_at`): items at or below the highest value seen are old (default: seen ids) */
  watermark: z.string().min(1).optional(),
  /** the dotted path of the list inside the answer when it is not the answer itself */
  items: z.string().min(1).optional(),
});

export const Trigger = z.strictObject({
  schedule: ScheduleTrigger.optional(),
  webhook: WebhookTrigger.optional(),
  /** start when another SOP emits this event */
  event: Name.optional(),
  poll: PollTrigger.optional(),
  input: TriggerInputMapping.optional(),
  repo: TriggerRepo.optional(),
  /** the SOP's params for triggered runs */
  params: z.record(Name, z.unknown()).optional(),
  /** the triggered runs' place in quota lines (docs/quotas.md): 1 first … 5 last; default 3 */
  priority: z
    .number()
    .int('must be a whole number from 1 (first) to 5 (last)')
    .min(1, 'must be a whole number from 1 (first) to 5 (last)')
    .max(5, 'must be a whole number from 1 (first) to 5 (last)')
    .optional(),
  description: z.string().optional(),
});
export type SopTrigger = z.infer<typeof Trigger>;

/** `emits: planned` or `emits: { event: planned, payload: { plan: "{{ steps.plan.payload.plan }}" } }`. */
const Emit = z.union([
  Name,
  z.strictObject({
    event: Name,
    /** field → value, templates over input, params, run and steps.<step>.payload */
    payload: z.record(Name, z.unknown()).optional(),
  }),
]);
/** one event or several */
export const Emits = z.union([Emit, z.array(Emit).min(1)]);
export type SopEmits = z.infer<typeof Emits>;
