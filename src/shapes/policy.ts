import { z } from 'zod';
import { Duration } from './duration';

/**
 * The harness-neutral security policy of a step (DESIGN §1). It is compiled per harness into that
 * harness's native configuration (see emitters); a control the chosen harness cannot enforce is refused
 * before launch unless `validation: warn`.
 *
 * Paths are workspace-relative (a trailing `/` or `/**` means a directory tree); the compiler refuses
 * absolute paths and `..` so a policy can never name something outside the workspace by accident.
 */
const SandboxMode = z.enum(['read-only', 'workspace-write', 'full-access']);

/** How tool calls that are not pre-approved are treated. Headless harnesses never prompt a person. */
const PermissionMode = z.enum([
  /** deny everything not explicitly allowed by the policy */
  'dont_ask',
  /** file edits inside the writable paths are approved; everything else follows the sandbox */
  'accept_edits',
  /** read-only planning: no edits, no commands with side effects */
  'plan',
  /** approve everything (only meaningful with sandbox full-access) */
  'bypass',
]);

const NetworkPolicy = z.union([
  z.enum(['none', 'open']),
  z.strictObject({
    allow: z.array(z.string().min(1)).min(1).describe('domains the step may reach, e.g. registry.npmjs.org'),
  }),
]);

const PolicyValidation = z.enum(['strict', 'warn']);

/** What a denied or blocked tool call does to the attempt: recorded only, or the attempt is not accepted. */
const OnDenial = z.enum(['record', 'reject']);

const relativePath = z.string().min(1);

export const PolicySchema = z.strictObject({
  sandbox: SandboxMode.optional(),
  permission_mode: PermissionMode.optional(),
  allow_write: z.array(relativePath).optional(),
  deny_read: z.array(relativePath).optional(),
  deny_write: z.array(relativePath).optional(),
  /**
   * false (default): a write in .git/ beyond normal work on the checked-out branch (index, objects,
   * reflogs, the branch's ref) is a violation: hooks, config, info/, HEAD, other refs. true allows them.
   */
  allow_git_writes: z.boolean().optional(),
  network: NetworkPolicy.optional(),
  /** extra shell commands a `dont_ask` step may run, e.g. `npm test` */
  allow_commands: z.array(z.string().min(1)).optional(),
  max_turns: z.number().int().min(1).max(1000).optional(),
  /**
   * tool calls that wait for a person (`sop answer --approve|--reject`), in Claude Code's permission rule
   * syntax: `Bash(git push:*)`, `Edit(migrations/**)`, `Read(secrets/**)`; the forms and what each asks
   * about are checked in permission-rules.ts
   */
  ask: z.array(z.string().min(1)).optional(),
  /** how long an `ask` waits for a person before the call is denied (default 30 minutes) */
  ask_timeout: Duration.optional(),
  /** strict (default): refuse a control the harness cannot enforce; warn: run and record a warning */
  validation: PolicyValidation.optional(),
  /**
   * record (default): denied or blocked tool calls are recorded (evidence, executions.jsonl, status, final
   * line); reject: an attempt with any is not accepted, and the denials are the feedback of the next attempt
   */
  on_denial: OnDenial.optional(),
});
export type Policy = z.infer<typeof PolicySchema>;

/** The policy a step runs with when nothing is declared: the safest useful default. */
export const DEFAULT_POLICY: Required<
  Pick<Policy, 'sandbox' | 'permission_mode' | 'network' | 'validation'>
> = {
  sandbox: 'read-only',
  permission_mode: 'dont_ask',
  network: 'none',
  validation: 'strict',
};

/** Later layers win key by key; lists are replaced, not merged, so a step can narrow an SOP default. */
export function mergePolicies(...layers: Array<Policy | undefined>): Policy {
  const merged: Policy = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    }
  }
  return merged;
}
