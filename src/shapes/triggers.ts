// Triggers and emitted events as the compiled plan carries them: plain data (no node modules), so workflow
// code (sensors, the interpreter) can read them. Derived from the SOP's `triggers:` and `emits:`
// (src/sop/trigger-schema.ts) by src/sop/triggers.ts. The parts that reach a workflow or come back from the
// server (a poll trigger, memo tags) are zod schemas in ./trigger-shapes, their types inferred there.
import type { PollSpec, TriggerRepoSpec } from './trigger-shapes';

export type { PollSpec } from './trigger-shapes';

type ScheduleOverlapPolicy =
  | 'skip'
  | 'buffer_one'
  | 'buffer_all'
  | 'allow_all'
  | 'cancel_other'
  | 'terminate_other';

interface ScheduleSpec {
  /** cron expressions (interpreted in `timezone`) */
  cron: string[];
  /** or a fixed interval */
  everyMs?: number;
  timezone?: string;
  overlap: ScheduleOverlapPolicy;
  jitterMs?: number;
}

export interface WebhookSpec {
  /** POST /hooks/<hook> */
  hook: string;
  /** the environment variable holding the shared secret */
  secretEnv: string;
  signature: 'github' | 'hmac-sha256';
  filter: { event?: string[]; action?: string[]; branch?: string[]; labels?: string[] };
  /** where the delivery id comes from */
  dedupe: { from: 'header' | 'payload'; name: string };
}

/** The trigger's source, by kind. */
export type TriggerSource =
  | { kind: 'schedule'; schedule: ScheduleSpec }
  | { kind: 'webhook'; webhook: WebhookSpec }
  | { kind: 'event'; event: string }
  | { kind: 'poll'; poll: PollSpec };

export type TriggerKind = TriggerSource['kind'];

export type TriggerSpec = TriggerSource & {
  /** the trigger's name in `triggers:` */
  name: string;
  /** the SOP it starts */
  sop: string;
  /** input field → value; strings may hold templates over the trigger context */
  input: Record<string, unknown>;
  /** absent: the project the trigger was synced from */
  repo?: TriggerRepoSpec;
  params?: Record<string, unknown>;
  /** the triggered runs' place in quota lines: 1 first … 5 last (absent: 3) */
  priority?: number;
};

/** An event a route (or finishing) emits: its name and the payload built from the run's outputs. */
export interface EmitSpec {
  event: string;
  /** field → value; strings may hold templates over input, params, run and steps.<step>.payload */
  payload?: Record<string, unknown>;
}

/**
 * The variables a trigger's `input:` and `repo:` templates may use, by kind. `payload` is the trigger's
 * data in every kind (the webhook body, the event payload, the polled item, the schedule's facts).
 */
export const TRIGGER_TEMPLATE_ROOTS: Record<TriggerKind, readonly string[]> = {
  schedule: ['payload', 'trigger', 'schedule'],
  webhook: ['payload', 'trigger', 'webhook'],
  event: ['payload', 'trigger', 'event'],
  poll: ['payload', 'trigger', 'item'],
};

/**
 * The hook a GitHub App posts every event to (`POST /hooks/github`): any number of triggers, across SOPs,
 * may declare it; a delivery starts a run for each whose filter matches, and review events on a run's
 * pull request reach that run. Its triggers share one secret (the App's webhook secret).
 */
export const SHARED_HOOK = 'github';

/** The memo key of every Schedule and sensor `sop triggers sync` made: which project, SOP and trigger. */
export const TRIGGER_MEMO_KEY = 'sopTrigger';
