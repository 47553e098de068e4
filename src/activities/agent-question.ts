// The activity's side of questions the agent writes: the outcome's `ask` is checked against the request its
// route goes to. A refused question is no usable outcome: the attempt is not accepted, its record (evidence,
// executions.jsonl) says why, and the next prompt tells the agent. An accepted one travels to the workflow in
// the outcome's payload, as checked.

import type { AgentRunResult } from '../harnesses/runner';
import { checkAgentQuestion } from '../shapes/agent-question';
import type { AgentStepRequest } from '../shapes/contract';

export function checkOutcomeQuestion(run: AgentRunResult, request: AgentStepRequest): AgentRunResult {
  const outcome = run.outcome;
  const payload = outcome?.payload as Record<string, unknown> | undefined;
  if (!outcome || !payload || payload.ask === undefined) return run;
  const route =
    request.role === 'producer' ? undefined : request.routes.find((r) => r.name === outcome.route);
  const { question, problem } = checkAgentQuestion(payload.ask, route);
  if (problem) return { ...run, outcome: undefined, outcomeError: problem };
  const { ask: _sent, ...rest } = payload;
  return { ...run, outcome: { ...outcome, payload: question ? { ...rest, ask: question } : rest } };
}
