// The shapes of triggers that cross process boundaries (a polling sensor's, and the memo tags), as zod schemas (the types are inferred):
// the sensor workflow's input and the state it continues as new with, the signals any client may send it
// (`sensorReconfigure` from `sop triggers sync`, `sensorPause` from `sop triggers pause|unpause`) and the
// memo tags `sync`, `list` and `doctor` read back from the server. The workflow checks its input and every
// signal against them first, so a malformed one is refused with a line naming the field and never reaches
// code that would throw in a workflow task. Pure (zod/mini): workflow code imports it.
import * as z from 'zod/mini';

const nonEmpty = () => z.string().check(z.minLength(1, 'must not be empty'));

const PollSpecSchema = z.object({
  /** a shell command (run in the project root) printing a JSON list of items */
  command: z.optional(nonEmpty()),
  /** or an HTTP GET answering a JSON list (header values may read `{{ env.NAME }}` on the worker) */
  http: z.optional(z.object({ url: nonEmpty(), headers: z.record(z.string(), z.string()) })),
  everyMs: z.number().check(z.positive('must be a positive number of milliseconds')),
  /** dotted path of an item's id */
  itemId: nonEmpty(),
  /** dotted path of a monotonic field (items at or below the highest seen are old); absent: seen ids */
  watermark: z.optional(nonEmpty()),
  /** dotted path of the list inside the answer; absent: the answer is the list */
  items: z.optional(nonEmpty()),
});
export type PollSpec = z.infer<typeof PollSpecSchema>;

const TriggerRepoSpecSchema = z.object({
  path: z.optional(z.string()),
  url: z.optional(z.string()),
  ref: z.optional(z.string()),
});
export type TriggerRepoSpec = z.infer<typeof TriggerRepoSpecSchema>;

/** A compiled `poll:` trigger (src/shapes/triggers.ts TriggerSpec of kind poll). */
const PollTriggerSchema = z.object({
  kind: z.literal('poll'),
  poll: PollSpecSchema,
  /** the trigger's name in `triggers:` */
  name: nonEmpty(),
  /** the SOP it starts */
  sop: nonEmpty(),
  /** input field → value; strings may hold templates over the polled item */
  input: z.record(z.string(), z.unknown()),
  repo: z.optional(TriggerRepoSpecSchema),
  params: z.optional(z.record(z.string(), z.unknown())),
  /** the runs' place in quota lines (1 first … 5 last) */
  priority: z.optional(z.number()),
});

export const SensorConfigSchema = z.object({
  trigger: PollTriggerSchema,
  /** the project root: relative repo paths and the poll command resolve against it */
  projectDir: nonEmpty(),
  bundleHash: nonEmpty(),
  /** hash of this config (sync compares it) */
  configHash: nonEmpty(),
});
export type SensorConfig = z.infer<typeof SensorConfigSchema>;
export const SENSOR_CONFIG_SHAPE =
  '{"trigger": {"kind": "poll", "sop": "<sop>", "name": "<trigger>", "poll": {...}, "input": {...}}, "projectDir": "<dir>", "bundleHash": "<hash>", "configHash": "<hash>"}';

const SensorPausedSchema = z.object({
  /** why, as the operator said it */
  note: z.string(),
  /** when (ISO 8601) */
  at: z.string(),
});

const SensorStateSchema = z.object({
  /** ids seen (newest last, at most MAX_SEEN), when the sensor has no watermark field */
  seen: z.array(z.string()),
  /** the highest watermark value seen */
  watermark: z.optional(z.union([z.string(), z.number()])),
  polls: z.number(),
  fired: z.number(),
  lastPollAt: z.optional(z.string()),
  lastFireAt: z.optional(z.string()),
  lastRun: z.optional(z.string()),
  lastError: z.optional(z.string()),
  /** set while paused (`sop triggers pause`): no polls, no runs, until unpaused */
  paused: z.optional(SensorPausedSchema),
});
export type SensorState = z.infer<typeof SensorStateSchema>;

/** The sensor workflow's input: its config, and the state of the execution it continues (if any). */
export const SensorInputSchema = z.extend(SensorConfigSchema, { state: z.optional(SensorStateSchema) });
export type SensorInput = z.infer<typeof SensorInputSchema>;

/** `sensorPause`: pause (no polls until unpaused) or unpause a sensor. */
export const SensorPauseSchema = z.strictObject({
  paused: z.boolean(),
  /** why (shown by `sop triggers list|show`) */
  note: z.optional(z.string().check(z.maxLength(500, 'must be at most 500 characters'))),
});
export type SensorPause = z.infer<typeof SensorPauseSchema>;
export const SENSOR_PAUSE_SHAPE = '{"paused": true | false, "note": "<optional reason>"}';

/** The memo tag (under TRIGGER_MEMO_KEY) of every Schedule and sensor `sop triggers sync` made. */
export const TriggerTagSchema = z.object({
  sop: z.string(),
  trigger: z.string(),
  /** the project root it was synced from */
  project: z.string(),
});
export type TriggerTag = z.infer<typeof TriggerTagSchema>;

/** A sensor's memo tag: also which SOP bundle and config it runs. */
export const SensorTagSchema = z.extend(TriggerTagSchema, { bundleHash: z.string(), configHash: z.string() });
export type SensorTag = z.infer<typeof SensorTagSchema>;

/** What a Schedule's action was made from (its action's memo). */
export const ScheduleVersionSchema = z.object({ bundleHash: z.string(), specHash: z.string() });
export type ScheduleVersion = z.infer<typeof ScheduleVersionSchema>;

/** The memo `trigger` of a run `sop serve` started for a webhook delivery (which hook, which delivery). */
const WebhookRunMemoSchema = z.strictObject({
  kind: z.literal('webhook'),
  hook: nonEmpty(),
  delivery: nonEmpty(),
  /** the event header's value (GitHub `X-GitHub-Event`), when sent */
  event: z.optional(z.string()),
});
export type WebhookRunMemo = z.infer<typeof WebhookRunMemoSchema>;

/** The memo `trigger` of a run an event started (which listening trigger, which event). */
const EventRunMemoSchema = z.object({ kind: z.literal('event'), name: nonEmpty(), event: nonEmpty() });
export type EventRunMemo = z.infer<typeof EventRunMemoSchema>;

/** The memo `trigger` of a run a polling sensor started (`<sop>.<trigger>`, the polled item's id). */
const SensorRunMemoSchema = z.object({
  kind: z.literal('sensor'),
  trigger: nonEmpty(),
  item: z.string(),
});
export type SensorRunMemo = z.infer<typeof SensorRunMemoSchema>;

/** The memo `trigger` of a triggered run: what started it. */
export const RunTriggerMemoSchema = z.union([WebhookRunMemoSchema, EventRunMemoSchema, SensorRunMemoSchema]);
export const RUN_TRIGGER_MEMO_KEY = 'trigger';

/** A webhook delivery's body, once its signature matched: a JSON object (its fields are the trigger's `payload`). */
export const WebhookPayloadSchema = z.record(z.string(), z.unknown());
