// The run's budgets (plan.budgets): checked before every agent run.
import type { RunContext } from './context';

/** The budget the run has used up, as one line; undefined while every budget has room left. */
export function budgetProblem(ctx: RunContext): string | undefined {
  const b = ctx.plan.budgets;
  const u = ctx.state.usage;
  if (b.maxUsd !== undefined && u.costUsd >= b.maxUsd) {
    return `budget max_usd (${b.maxUsd}) reached: ${u.costUsd.toFixed(4)} USD spent`;
  }
  if (b.maxTokens !== undefined && u.inputTokens + u.outputTokens >= b.maxTokens) {
    return `budget max_tokens (${b.maxTokens}) reached: ${u.inputTokens + u.outputTokens} tokens used`;
  }
  if (b.maxAgentRuns !== undefined && u.agentRuns >= b.maxAgentRuns) {
    return `budget max_agent_runs (${b.maxAgentRuns}) reached`;
  }
  if (b.maxWallClockMs !== undefined && Date.now() - ctx.state.startedAtMs >= b.maxWallClockMs) {
    return `budget max_wall_clock (${b.maxWallClockMs} ms) reached`;
  }
  return undefined;
}
