// Human input in the flow of steps: ask (human.ts keeps the requests and their answers), then route the
// answer — approved / rejected, the value of a route_on field, or `answered` — record who sent it, and
// tell the next prompt of the step it leads to.

import type { AgentQuestion } from '../../shapes/agent-question';
import type { WorkItem } from '../../shapes/contract';
import type { InputRequestSpec, RouteSpec, RouteTarget, StepSpec } from '../../shapes/execution-plan';
import { deliveryKey, describeTarget, type RunContext } from './context';
import { type Asked, answerFeedback, answerRoute } from './human';
import { isReviewAnswer, reviewFeedback } from './reviews';

export type Answered = Extract<Asked, { answered: true }>;

export function requestInput(
  ctx: RunContext,
  step: StepSpec,
  item: WorkItem | undefined,
  request: InputRequestSpec,
  rework: number,
  /** the question the agent wrote for this request (agent_asks), as the activity checked it */
  agent?: AgentQuestion,
): Promise<Asked> {
  const routes = request.routeOn
    ? (request.routes ?? (request === step.input ? step.routes : [])).map((r) => r.name)
    : undefined;
  return ctx.human.ask(step.name, item, request, rework, routes, agent);
}

// Before this patch a request_input showed only the SOP's question (agent_asks did not exist).
const AGENT_QUESTIONS_PATCH = 'agent-questions-v1';

/** The agent's question in the outcome that routed to `request`, when the request lets it ask. */
export function agentQuestionOf(
  ctx: RunContext,
  request: InputRequestSpec,
  payload: unknown,
): AgentQuestion | undefined {
  if (!request.agentAsks) return undefined;
  const ask = (payload as { ask?: AgentQuestion } | null | undefined)?.ask;
  if (!ask || typeof ask.question !== 'string' || !ctx.isPatched(AGENT_QUESTIONS_PATCH)) return undefined;
  return ask;
}

/**
 * The route the answer takes among `routes` (an input step's routes, or a request_input's own; none:
 * the answer goes back to the step that asked), with its answer recorded as evidence and the answer
 * delivered into the next prompt of the step it leads to.
 */
export async function routeAnswer(
  ctx: RunContext,
  step: StepSpec,
  item: WorkItem | undefined,
  request: InputRequestSpec,
  asked: Answered,
  routes: RouteSpec[],
): Promise<{ route: string; target: RouteTarget }> {
  const name = answerRoute(request, asked.value);
  const route =
    routes.find((r) => r.name === name) ??
    (request.routeOn ? undefined : (routes.find((r) => r.name === 'answered') ?? routes[0]));
  const target: RouteTarget =
    route?.target ??
    (routes.length === 0
      ? { kind: 'step', step: step.name }
      : { kind: 'fail', reason: `${step.name}: the answer routes "${name}", which has no route` });
  const record = await ctx.human.record(asked, {
    step: step.name,
    item: item?.id,
    route: route?.name ?? name,
    target: describeTarget(target),
    ...(isReviewAnswer(asked.value)
      ? { by: `${asked.value.review.by} (GitHub ${asked.value.review.event})` }
      : {}),
  });
  // the step the answer leads to hears it (a request_input without routes delivers it itself)
  if (routes.length > 0 && target.kind === 'step') {
    const key = deliveryKey(target.step, target.step === step.name ? item?.id : undefined);
    ctx.state.deliveries[key] = [
      ...(ctx.state.deliveries[key] ?? []),
      ...(isReviewAnswer(asked.value)
        ? reviewFeedback(asked.value, step.name)
        : answerFeedback(record, asked.agentQuestion?.question ?? asked.question)),
    ];
  }
  return { route: route?.name ?? name, target };
}
