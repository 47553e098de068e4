// Denials as text, the same wherever they are shown: the run's final line, `sop runs show`, `sop logs`,
// and the feedback of an attempt that `on_denial: reject` did not accept. Plain code (workflow-safe).

import type { AgentStepResult } from './contract';
import type { Denial } from './denial';
import type { RoleSpec } from './execution-plan';

/** `Bash \`touch x\` (sandbox): touch: cannot touch 'x': Read-only file system` */
export function describeDenial(denial: Denial): string {
  return `${denial.tool}${denial.target ? ` \`${denial.target}\`` : ''} (${denial.source}): ${denial.reason}`;
}

/** "1 denied tool call", "2 denied tool calls" */
export function deniedCallsText(count: number): string {
  return `${count} denied tool call${count === 1 ? '' : 's'}`;
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
