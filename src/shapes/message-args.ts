// The arguments of the messages a run accepts, as zod schemas. Handlers check every argument against
// them before anything else, so a malformed message is refused (update) or ignored with a logged reason
// (signal) and never reaches code that would throw in a workflow task. Pure: workflow code imports it.
import * as z from 'zod/mini';
import { zodProblem } from './zod-problem';

export const AnswerInputSchema = z.strictObject({
  /** the id of the pending request (from the status query); optional when only one can be pending */
  requestId: z.optional(z.string().check(z.minLength(1, 'must not be empty'))),
  /** the answer, checked against the pending request's JSON Schema */
  value: z.unknown(),
});
export type AnswerInput = z.infer<typeof AnswerInputSchema>;

/** What a sender should have sent, for the refusal message. */
export const ANSWER_SHAPE = '{"value": <the answer>, "requestId": "<optional pending request id>"}';

export const MessageTextSchema = z
  .string()
  .check(z.minLength(1, 'must not be empty'), z.maxLength(16_000, 'must be at most 16,000 characters'));
export const MESSAGE_SHAPE = 'a non-empty JSON string (at most 16,000 characters)';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

/** An argument against its schema: the value, or one line naming what is wrong and the expected shape. */
export function parseMessageArg<T>(
  schema: z.ZodMiniType<T>,
  arg: unknown,
  name: string,
  shape: string,
): Parsed<T> {
  const parsed = schema.safeParse(arg);
  if (parsed.success) return { ok: true, value: parsed.data };
  const known = schema instanceof z.ZodMiniObject ? Object.keys(schema.shape) : undefined;
  return { ok: false, problem: `${zodProblem(parsed.error, arg, name, known)}; expected ${shape}` };
}

/** `toolApproval`: sent by the agent activity when a tool call its step's `ask:` policy holds waits. */
export const ToolApprovalAskSchema = z.object({
  requestId: z.string().check(z.minLength(1, 'must not be empty')),
  step: z.string().check(z.minLength(1, 'must not be empty')),
  item: z.optional(z.string()),
  tool: z.object({
    name: z.string().check(z.minLength(1, 'must not be empty')),
    input: z.record(z.string(), z.unknown()),
    role: z.optional(z.string()),
    attempt: z.optional(z.number()),
  }),
});
export type ToolApprovalAsk = z.infer<typeof ToolApprovalAskSchema>;
export const TOOL_APPROVAL_SHAPE =
  '{"requestId": "<id>", "step": "<step>", "tool": {"name": "<tool>", "input": {...}}}';

/** `toolApprovalWithdrawn`: the activity stopped waiting (timeout, cancellation). */
export const ToolApprovalWithdrawnSchema = z.object({
  requestId: z.string().check(z.minLength(1, 'must not be empty')),
  reason: z.string(),
});
export const TOOL_APPROVAL_WITHDRAWN_SHAPE = '{"requestId": "<id>", "reason": "<why>"}';

/** A run that waits for a person: the run itself, or a child run (of a child run) of a `kind: sop` step. */
export const WaitingInSchema = z.object({
  workflowId: z.string().check(z.minLength(1, 'must not be empty')),
  sop: z.string().check(z.minLength(1, 'must not be empty')),
  task: z.string().check(z.minLength(1, 'must not be empty')),
});
export type WaitingIn = z.infer<typeof WaitingInSchema>;

/**
 * `childStatus`: a child run of a `kind: sop` step tells its parent that it (or a child of its own) waits
 * for a person now, or no longer does. `seq` counts up with every report of the child: a report that
 * arrives after a newer one is ignored.
 */
export const ChildStatusSchema = z.object({
  child: z.string().check(z.minLength(1, 'must not be empty')),
  seq: z.number(),
  /** the run a person is awaited in; absent: nobody is awaited in this child any more */
  waitingIn: z.optional(WaitingInSchema),
  /** what the child (with its own children) has used so far */
  usage: z.optional(
    z.object({
      inputTokens: z.number().check(z.nonnegative()),
      outputTokens: z.number().check(z.nonnegative()),
      costUsd: z.number().check(z.nonnegative()),
      agentRuns: z.number().check(z.nonnegative()),
    }),
  ),
});
export type ChildStatus = z.infer<typeof ChildStatusSchema>;
export const CHILD_STATUS_SHAPE =
  '{"child": "<workflow id>", "seq": <n>, "waitingIn": {"workflowId": "<id>", "sop": "<sop>", "task": "<task>"}, "usage": {"inputTokens": <n>, "outputTokens": <n>, "costUsd": <n>, "agentRuns": <n>}}';

/** The memo key a run waiting for a person in a child run keeps it under (for `sop runs list`). */
export const WAITING_IN_MEMO_KEY = 'waitingIn';
