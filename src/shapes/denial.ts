import { z } from 'zod';

/**
 * One denied or blocked tool call, the same for every harness: parsed from the harness transcript (and, for
 * Codex, its rollout file) after each execution, and recorded in the evidence, `executions.jsonl`, the
 * run's status and its final line.
 */
const DenialSource = z.enum([
  /** the harness's permission system refused the call (a deny rule, don't-ask mode, a denied path) */
  'permission',
  /** the call named a tool the harness has disabled for this step (e.g. Write under read-only) */
  'disabled_tool',
  /** the OS sandbox refused a file operation of a command (EACCES, EPERM, EROFS, a hidden deny_read path) */
  'sandbox',
  /** a network connection the policy does not allow was blocked */
  'network',
]);

export const DenialSchema = z.strictObject({
  /** the harness's tool name: Bash, Read, Write, exec_command, apply_patch, … */
  tool: z.string().min(1),
  /** what the call was aimed at: a workspace-relative path, a command, a host */
  target: z.string(),
  /** the refusal as the harness or the command put it (one line, bounded) */
  reason: z.string(),
  source: DenialSource,
});
export type Denial = z.infer<typeof DenialSchema>;

/** Longest target and reason kept per denial (they travel in workflow history). */
export const DENIAL_TEXT_LIMIT = 300;
