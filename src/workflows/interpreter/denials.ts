// Denied and blocked tool calls: the run-wide count and most recent ones (status, final line, run.json); the
// run-wide count of MCP tool calls.
import type { AgentStepResult, Role } from '../../shapes/contract';
import type { RunContext } from './context';

/** How many denied calls the run keeps listed (it counts all of them). */
const DENIALS_KEPT = 50;

export function recordDenials(
  ctx: RunContext,
  result: AgentStepResult,
  where: { step: string; item?: string; role: Role },
): void {
  const { state } = ctx;
  state.deniedCalls += result.deniedCalls ?? result.denials?.length ?? 0;
  for (const denial of result.denials ?? []) state.denials.push({ ...denial, ...where });
  state.denials.splice(0, Math.max(0, state.denials.length - DENIALS_KEPT));
  // a count only: the calls themselves are in the evidence and executions.jsonl
  const mcp = result.mcpCallCount;
  if (mcp && mcp.calls > 0) {
    state.mcpCalls ??= { calls: 0, denied: 0 };
    state.mcpCalls.calls += mcp.calls;
    state.mcpCalls.denied += mcp.denied;
  }
}
