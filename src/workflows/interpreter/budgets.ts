// The run's budgets (plan.budgets): usage checked before every agent run, max_steps before every step.
import { DEFAULT_MAX_STEPS } from '../../shapes/execution-plan';
import { addRunUsage, type RunUsage } from '../../shapes/run';
import type { RunContext } from './context';

// Before this patch a run could start steps without end (a route cycle between steps without max_rework).
const MAX_STEPS_PATCH = 'max-steps-v1';

/**
 * The budget the run has used up, as one line; undefined while every budget has room left. What the child
 * runs of its `kind: sop` steps used counts too (children.ts adds it as each ends).
 */
export function budgetProblem(ctx: RunContext): string | undefined {
  const b = ctx.plan.budgets;
  const children = ctx.state.childUsage;
  const u = children ? addRunUsage(ctx.state.usage, children) : ctx.state.usage;
  const tokens = (x: RunUsage) => x.inputTokens + x.outputTokens;
  if (b.maxUsd !== undefined && u.costUsd >= b.maxUsd) {
    const byChildren = children ? ` (${children.costUsd.toFixed(4)} of it by child runs)` : '';
    return `budget max_usd (${b.maxUsd}) reached: ${u.costUsd.toFixed(4)} USD spent${byChildren}`;
  }
  if (b.maxTokens !== undefined && tokens(u) >= b.maxTokens) {
    const byChildren = children ? ` (${tokens(children)} of them by child runs)` : '';
    return `budget max_tokens (${b.maxTokens}) reached: ${tokens(u)} tokens used${byChildren}`;
  }
  if (b.maxAgentRuns !== undefined && u.agentRuns >= b.maxAgentRuns) {
    const byChildren = children
      ? `: ${u.agentRuns} agent runs, ${children.agentRuns} of them by child runs`
      : '';
    return `budget max_agent_runs (${b.maxAgentRuns}) reached${byChildren}`;
  }
  if (b.maxWallClockMs !== undefined && Date.now() - ctx.state.startedAtMs >= b.maxWallClockMs) {
    return `budget max_wall_clock (${b.maxWallClockMs} ms) reached`;
  }
  return undefined;
}

/**
 * Counts a step the run is about to start; past max_steps, why the run must end, naming the cycle it is in.
 * `recent`: the steps this thread started, the one about to start last.
 */
export function countStepStart(ctx: RunContext, recent: string[]): string | undefined {
  const { state } = ctx;
  state.stepsStarted = (state.stepsStarted ?? 0) + 1;
  const max = ctx.plan.budgets.maxSteps ?? DEFAULT_MAX_STEPS;
  if (state.stepsStarted <= max || !ctx.isPatched(MAX_STEPS_PATCH)) return undefined;
  return `max_steps (${max}) reached: ${describeCycle(recent)}`;
}

/** `cycling a → b → a` from the steps last started (the latest one last); else the last few of them. */
function describeCycle(recent: string[]): string {
  const last = recent.length - 1;
  const previous = recent.lastIndexOf(recent[last], last - 1);
  if (previous >= 0) return `cycling ${recent.slice(previous).join(' → ')}`;
  return `the last steps started were ${recent.slice(-5).join(' → ')}`;
}
