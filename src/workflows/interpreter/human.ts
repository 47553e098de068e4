// Everything a run waits for a person for: SOP questions (input steps, request_input) and tool calls a
// step's `ask:` policy holds (sent by the agent activity as the toolApproval signal). Answers arrive as the
// `answer` update (validated against the request's schema; a wrong answer is rejected and nothing is
// recorded) or its `submitAnswer` signal twin. Deterministic workflow code: effects go through activities.
// The requests are human-requests.ts, the message handlers human-handlers.ts, asking and recording human-ask.ts.
import type { AgentQuestion } from '../../shapes/agent-question';
import type { WorkItem } from '../../shapes/contract';
import type { InputRequestSpec } from '../../shapes/execution-plan';
import type { PendingInput } from '../../shapes/messages';
import type { AnswerRecord } from '../../shapes/run';
import { type AnswerWhere, askPerson, recordAnswerOf } from './human-ask';
import { registerAnswerHandlers, registerToolApprovalHandlers } from './human-handlers';
import type { Asked, HumanInputDeps, HumanRequests } from './human-requests';

export type { Asked } from './human-requests';

/** The route an answer takes: approved / rejected, the value of the route_on field, or `answered`. */
export function answerRoute(spec: InputRequestSpec, value: unknown): string {
  if (spec.routeOn?.kind === 'approval') {
    return (value as { approve?: unknown } | null)?.approve === true ? 'approved' : 'rejected';
  }
  if (spec.routeOn?.kind === 'field')
    return String((value as Record<string, unknown> | null)?.[spec.routeOn.field]);
  return 'answered';
}

/** What the next prompt of the step an answer routes to is told. */
export function answerFeedback(record: AnswerRecord, question: string): string[] {
  const who = `A person${record.by ? ` (${record.by})` : ''}`;
  const guidance = (record.value as { guidance?: unknown } | null)?.guidance;
  if (record.route === 'rejected') {
    return [
      `${who} rejected at step ${record.step} ("${question}")${typeof guidance === 'string' && guidance ? `: ${guidance}` : '.'}`,
    ];
  }
  return [
    `${who} answered "${question}" at step ${record.step}${record.route && record.route !== 'answered' ? ` (${record.route})` : ''}:`,
    typeof record.value === 'string' ? record.value : JSON.stringify(record.value, null, 2),
  ];
}

export type HumanInput = ReturnType<typeof createHumanInput>;

export function createHumanInput(deps: HumanInputDeps) {
  const requests: HumanRequests = { deps, queue: [], decisions: new Map(), counter: 0 };
  registerAnswerHandlers(requests);
  registerToolApprovalHandlers(requests);
  return {
    /** Asks a person; one SOP question at a time (tool approvals may wait beside it). */
    ask: (
      step: string,
      item: WorkItem | undefined,
      spec: InputRequestSpec,
      rework: number,
      routes?: string[],
      agent?: AgentQuestion,
    ) => askPerson(requests, step, item, spec, rework, routes, agent),
    /** Keeps the answer in the run state and writes its evidence record; returns the record. */
    record: (asked: Extract<Asked, { answered: true }>, where: AnswerWhere): Promise<AnswerRecord> =>
      recordAnswerOf(requests, asked, where),
    /** every request waiting for a person, oldest first */
    pending: (): PendingInput[] =>
      requests.queue.map(({ validator: _v, answer: _a, review: _r, ...view }) => view),
    /** the review gate waiting for its answer now (reviews.ts answers it with the pull request's review) */
    reviewGate: (): { requestId: string; step: string; allow?: string[] } | undefined => {
      const gate = requests.queue.find((r) => r.kind === 'input' && r.review && !r.answer);
      return gate ? { requestId: gate.requestId, step: gate.step, allow: gate.review?.allow } : undefined;
    },
    /** answers a review gate (the value fits REVIEW_ANSWER_SCHEMA by construction) */
    answerGate: (requestId: string, value: unknown) => {
      const gate = requests.queue.find((r) => r.requestId === requestId);
      if (gate && !gate.answer) gate.answer = { value };
    },
  };
}
