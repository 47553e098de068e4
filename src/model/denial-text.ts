// Denials as text, the same wherever they are shown: the run's final line, `sop runs show`, `sop logs`,
// and the feedback of an attempt that `on_denial: reject` did not accept. Plain code (workflow-safe).
import type { Denial } from '../policies/denial';

/** `Bash \`touch x\` (sandbox): touch: cannot touch 'x': Read-only file system` */
export function describeDenial(denial: Denial): string {
  return `${denial.tool}${denial.target ? ` \`${denial.target}\`` : ''} (${denial.source}): ${denial.reason}`;
}

/** "1 denied tool call", "2 denied tool calls" */
export function deniedCallsText(count: number): string {
  return `${count} denied tool call${count === 1 ? '' : 's'}`;
}
