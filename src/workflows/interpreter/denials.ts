// Denied and blocked tool calls: the run-wide count and most recent ones (status, final line, run.json),
// and, under `on_denial: reject`, the reasons an attempt with denials is not accepted.
import type { AgentStepResult, Role } from '../../model/contract';
import { describeDenial } from '../../model/denial-text';
import type { RoleSpec } from '../../model/plan';
import type { RunContext } from './context';

/** How many denied calls the run keeps listed (it counts all of them). */
export const DENIALS_KEPT = 50;

export function recordDenials(
  ctx: RunContext,
  result: AgentStepResult,
  where: { step: string; item?: string; role: Role },
): void {
  const { state } = ctx;
  state.deniedCalls += result.deniedCalls ?? result.denials?.length ?? 0;
  for (const denial of result.denials ?? []) state.denials.push({ ...denial, ...where });
  state.denials.splice(0, Math.max(0, state.denials.length - DENIALS_KEPT));
}

/** With `on_denial: reject`, each denial is a reason not to accept the attempt (the agent's feedback). */
export function denialProblems(result: AgentStepResult, spec: RoleSpec): string[] {
  if (spec.policy.on_denial !== 'reject') return [];
  const listed = result.denials ?? [];
  const problems = listed.map((d) => `denied tool call (on_denial: reject): ${describeDenial(d)}`);
  const more = (result.deniedCalls ?? listed.length) - listed.length;
  if (more > 0) problems.push(`${more} more denied tool calls (on_denial: reject)`);
  return problems;
}
