// The requests a run waits on a person for (SOP questions and held tool calls), and how an answer finds
// its request and is checked against its schema. Deterministic workflow code.
import type { Validator } from '@cfworker/json-schema';
import type { AgentQuestion } from '../../shapes/agent-question';
import type { RunRef } from '../../shapes/contract';
import {
  ANSWER_SHAPE,
  type AnswerInput,
  AnswerInputSchema,
  parseMessageArg,
} from '../../shapes/message-args';
import type { PendingInput, ToolApprovalDecision } from '../../shapes/messages';
import type { AnswerRecord } from '../../shapes/run';
import type { PatchId } from './patches';

const ANSWERS_KEPT = 50;

export interface Request extends PendingInput {
  validator: Validator;
  answer?: { value: unknown; updateId?: string };
  /** a review gate: the pull request's review answers it too (reviews.ts) */
  review?: { allow?: string[] };
}

export type Asked =
  | {
      answered: true;
      value: unknown;
      requestId: string;
      question: string;
      updateId?: string;
      /** the question the agent wrote for this request, when it wrote one */
      agentQuestion?: AgentQuestion;
    }
  | { answered: false };

export interface HumanInputDeps {
  /** the run (a repo.url run's workspace changes when its worker is lost) */
  run: () => RunRef;
  /** where the answer's evidence record is written (a repo.url run: its worker's queue) */
  activityOptions: () => { taskQueue?: string; scheduleToStartTimeout?: number };
  /** the run's answers so far (kept in the run state, carried across continue-as-new) */
  answers: () => AnswerRecord[];
  /** a request started or stopped waiting: the run's status and details say so (children.ts showWaiting) */
  waitingChanged(): void;
  /** SopStep names the step a run waits in (visibility.ts) */
  showInputStep(step: string): void;
  /** the next execution number (answers take their place in the evidence chain) */
  nextExecution(): number;
  /** whether a change is on in this run (patches.ts) */
  isPatched(id: PatchId): boolean;
  /** what a question may name besides the step and item (QUESTION_ROOTS): the run's input and params */
  questionScope(): { input: Record<string, unknown>; params: Record<string, unknown> };
}

/** What the handlers, ask and record share: the requests waiting, tool-call decisions, and a counter. */
export interface HumanRequests {
  deps: HumanInputDeps;
  /** every request waiting for a person, oldest first */
  queue: Request[];
  /** tool-call decisions by request id (the agent activity polls for them) */
  decisions: Map<string, ToolApprovalDecision>;
  /** SOP questions asked so far (request ids) */
  counter: number;
}

/** The request an answer is for (by requestId, or the oldest), or why there is none. */
function findRequest(queue: Request[], value: AnswerInput): Request | string {
  if (queue.length === 0) return 'this run is not waiting for input';
  if (!value.requestId) return queue[0];
  const request = queue.find((r) => r.requestId === value.requestId);
  return (
    request ??
    `no pending request ${value.requestId}; the run waits for ${queue.map((r) => r.requestId).join(', ')}`
  );
}

function answerProblem(queue: Request[], value: AnswerInput): string | undefined {
  const request = findRequest(queue, value);
  if (typeof request === 'string') return request;
  let result: ReturnType<Validator['validate']>;
  try {
    result = request.validator.validate(value.value);
  } catch (err) {
    return `the answer cannot be checked against the requested schema: ${(err as Error).message}`;
  }
  if (result.valid) return undefined;
  const details = result.errors
    .filter((e) => e.keyword !== 'properties')
    .map(
      (e) =>
        `${e.instanceLocation === '#' ? 'answer' : e.instanceLocation.replace(/^#/, 'answer')}: ${e.error}`,
    );
  return `the answer does not fit the requested schema: ${details.join('; ')}`;
}

/** The argument of an answer (update or signal): its shape first, then the pending request's schema. */
export function checkAnswer(queue: Request[], arg: unknown): { answer: AnswerInput } | { problem: string } {
  const parsed = parseMessageArg(AnswerInputSchema, arg, 'answer', ANSWER_SHAPE);
  if (!parsed.ok) return { problem: parsed.problem };
  const problem = answerProblem(queue, parsed.value);
  return problem ? { problem } : { answer: parsed.value };
}

/** A checked answer: a SOP question's answer waits for ask() to take it; a tool call's is decided now. */
export function acceptAnswer(requests: HumanRequests, value: AnswerInput, updateId?: string): void {
  const { queue, decisions } = requests;
  const request = findRequest(queue, value) as Request;
  if (request.kind !== 'tool_approval') {
    request.answer = { value: value.value, updateId };
    return;
  }
  // a tool call: the agent activity polls for the decision; the run goes on meanwhile
  const answer = value.value as { approve: boolean; guidance?: string };
  decisions.set(request.requestId, { approve: answer.approve, guidance: answer.guidance, updateId });
  queue.splice(queue.indexOf(request), 1);
  keepAnswer(requests.deps, {
    requestId: request.requestId,
    step: request.step,
    item: request.item,
    kind: 'tool_approval',
    value: answer,
    route: answer.approve ? 'approved' : 'rejected',
    target: `${request.tool?.name} call`,
  });
  requests.deps.waitingChanged();
}

/** Keeps an answer in the run state (the last ANSWERS_KEPT). */
export function keepAnswer(deps: HumanInputDeps, record: AnswerRecord): void {
  const answers = deps.answers();
  answers.push(record);
  if (answers.length > ANSWERS_KEPT) answers.shift();
}
