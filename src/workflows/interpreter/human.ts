// Everything a run waits for a person for: SOP questions (input steps, request_input) and tool calls a
// step's `ask:` policy holds (sent by the agent activity as the toolApproval signal). Answers arrive as the
// `answer` update (validated against the request's schema; a wrong answer is rejected and nothing is
// recorded) or its `submitAnswer` signal twin. Deterministic workflow code: effects go through activities.
import { Validator } from '@cfworker/json-schema';
import {
  ApplicationFailure,
  condition,
  currentUpdateInfo,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { InterpreterActivities } from '../../activities/interpreter-activities';
import { type AgentQuestion, answerSchemaFor } from '../../shapes/agent-question';
import type { RunRef, WorkItem } from '../../shapes/contract';
import { APPROVAL_ANSWER_SCHEMA, type InputRequestSpec } from '../../shapes/execution-plan';
import {
  ANSWER_SHAPE,
  type AnswerInput,
  AnswerInputSchema,
  parseMessageArg,
  TOOL_APPROVAL_SHAPE,
  TOOL_APPROVAL_WITHDRAWN_SHAPE,
  ToolApprovalAskSchema,
  ToolApprovalWithdrawnSchema,
} from '../../shapes/message-args';
import {
  answerSignal,
  answerUpdate,
  type PendingInput,
  type ToolApprovalDecision,
  toolApprovalSignal,
  toolApprovalWithdrawnSignal,
  toolDecisionQuery,
} from '../../shapes/messages';
import { renderText } from '../../shapes/render-text';
import type { AnswerRecord } from '../../shapes/run';
import type { PatchId } from './patches';

/** Runs started before answers were recorded as evidence keep their history layout. */
const ANSWER_RECORD_PATCH = 'answer-record-v1';
const ANSWERS_KEPT = 50;

const { recordAnswer } = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

interface Request extends PendingInput {
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
  const queue: Request[] = [];
  const decisions = new Map<string, ToolApprovalDecision>();
  let counter = 0;

  const updateStatus = () => deps.waitingChanged();
  const find = (value: AnswerInput): Request | string => {
    if (queue.length === 0) return 'this run is not waiting for input';
    if (!value.requestId) return queue[0];
    const request = queue.find((r) => r.requestId === value.requestId);
    return (
      request ??
      `no pending request ${value.requestId}; the run waits for ${queue.map((r) => r.requestId).join(', ')}`
    );
  };
  const problemOf = (value: AnswerInput): string | undefined => {
    const request = find(value);
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
  };
  const accept = (value: AnswerInput, updateId?: string) => {
    const request = find(value) as Request;
    if (request.kind !== 'tool_approval') {
      request.answer = { value: value.value, updateId };
      return;
    }
    // a tool call: the agent activity polls for the decision; the run goes on meanwhile
    const answer = value.value as { approve: boolean; guidance?: string };
    decisions.set(request.requestId, { approve: answer.approve, guidance: answer.guidance, updateId });
    queue.splice(queue.indexOf(request), 1);
    keep({
      requestId: request.requestId,
      step: request.step,
      item: request.item,
      kind: 'tool_approval',
      value: answer,
      route: answer.approve ? 'approved' : 'rejected',
      target: `${request.tool?.name} call`,
    });
    updateStatus();
  };
  const keep = (record: AnswerRecord) => {
    const answers = deps.answers();
    answers.push(record);
    if (answers.length > ANSWERS_KEPT) answers.shift();
  };

  /** The argument of an answer (update or signal): its shape first, then the pending request's schema. */
  const checkAnswer = (arg: unknown): { answer: AnswerInput } | { problem: string } => {
    const parsed = parseMessageArg(AnswerInputSchema, arg, 'answer', ANSWER_SHAPE);
    if (!parsed.ok) return { problem: parsed.problem };
    const problem = problemOf(parsed.value);
    return problem ? { problem } : { answer: parsed.value };
  };
  setHandler(
    answerUpdate,
    (value) => {
      accept(value, currentUpdateInfo()?.id);
      return { accepted: true as const };
    },
    {
      validator: (value) => {
        const checked = checkAnswer(value);
        if ('problem' in checked) {
          throw ApplicationFailure.create({
            type: 'InvalidAnswer',
            message: checked.problem,
            nonRetryable: true,
          });
        }
      },
      description: `Answer a pending input request or tool approval: ${ANSWER_SHAPE}, the value validated against its schema`,
    },
  );
  setHandler(answerSignal, (value) => {
    const checked = checkAnswer(value);
    if ('problem' in checked) log.warn(`ignored submitAnswer signal: ${checked.problem}`);
    else accept(checked.answer);
  });
  setHandler(toolApprovalSignal, (arg) => {
    const parsed = parseMessageArg(ToolApprovalAskSchema, arg, 'toolApproval', TOOL_APPROVAL_SHAPE);
    if (!parsed.ok) return log.warn(`ignored toolApproval signal: ${parsed.problem}`);
    const ask = parsed.value;
    if (queue.some((r) => r.requestId === ask.requestId) || decisions.has(ask.requestId)) return;
    const who = [ask.step, ask.item, ask.tool.role, ask.tool.attempt && `attempt ${ask.tool.attempt}`]
      .filter(Boolean)
      .join(' · ');
    queue.push({
      requestId: ask.requestId,
      step: ask.step,
      item: ask.item,
      kind: 'tool_approval',
      question: `Allow ${ask.tool.name} ${JSON.stringify(ask.tool.input)}? (${who})`,
      schema: APPROVAL_ANSWER_SCHEMA,
      routes: ['approved', 'rejected'],
      tool: ask.tool,
      validator: new Validator(APPROVAL_ANSWER_SCHEMA as never, '2020-12', false),
    });
    updateStatus();
  });
  setHandler(toolApprovalWithdrawnSignal, (arg) => {
    const parsed = parseMessageArg(
      ToolApprovalWithdrawnSchema,
      arg,
      'toolApprovalWithdrawn',
      TOOL_APPROVAL_WITHDRAWN_SHAPE,
    );
    if (!parsed.ok) return log.warn(`ignored toolApprovalWithdrawn signal: ${parsed.problem}`);
    const index = queue.findIndex((r) => r.requestId === parsed.value.requestId);
    if (index < 0) return;
    log.info(`tool approval ${parsed.value.requestId} withdrawn: ${parsed.value.reason}`);
    queue.splice(index, 1);
    updateStatus();
  });
  setHandler(toolDecisionQuery, (requestId) =>
    typeof requestId === 'string' ? (decisions.get(requestId) ?? null) : null,
  );

  /** Asks a person; one SOP question at a time (tool approvals may wait beside it). */
  async function ask(
    step: string,
    item: WorkItem | undefined,
    spec: InputRequestSpec,
    rework: number,
    /** the routes the answer can take (shown to whoever answers) */
    routes?: string[],
    /** the agent's own question for this request (agent_asks), shown next to the SOP's */
    agent?: AgentQuestion,
  ): Promise<Asked> {
    counter++;
    const question = renderText(spec.question, {
      ...deps.questionScope(),
      step: { name: step, rework },
      item: item ? { ...item, key: item.id } : undefined,
    });
    await condition(() => !queue.some((r) => r.kind === 'input'));
    // an answer fits the step's schema and, when the agent narrowed it, the agent's too
    const schema = answerSchemaFor(spec.schema, agent);
    const request: Request = {
      requestId: `${step}${item ? `-${item.id}` : ''}-${counter}`,
      step,
      item: item?.id,
      kind: 'input',
      question,
      schema,
      ...(routes?.length ? { routes } : {}),
      ...(agent ? { agentQuestion: agent } : {}),
      validator: new Validator(schema as never, '2020-12', false),
      ...(spec.review ? { review: spec.review } : {}),
    };
    queue.push(request);
    deps.showInputStep(step);
    updateStatus();
    let arrived = true;
    if (spec.timeoutMs) arrived = await condition(() => request.answer !== undefined, spec.timeoutMs);
    else await condition(() => request.answer !== undefined);
    queue.splice(queue.indexOf(request), 1);
    updateStatus();
    if (!arrived || !request.answer) return { answered: false };
    return {
      answered: true,
      value: request.answer.value,
      requestId: request.requestId,
      question,
      updateId: request.answer.updateId,
      ...(agent ? { agentQuestion: agent } : {}),
    };
  }

  /**
   * Keeps the answer in the run state and writes its evidence record (who sent it and when, from
   * history); returns the record. Runs started before the record existed only keep it in state.
   */
  async function record(
    asked: Extract<Asked, { answered: true }>,
    where: { step: string; item?: string; route?: string; target?: string; by?: string },
  ): Promise<AnswerRecord> {
    const entry: AnswerRecord = {
      requestId: asked.requestId,
      step: where.step,
      item: where.item,
      kind: 'input',
      value: asked.value,
      route: where.route,
      target: where.target,
      ...(asked.agentQuestion ? { agentQuestion: asked.agentQuestion } : {}),
    };
    if (deps.isPatched(ANSWER_RECORD_PATCH)) {
      try {
        const written = await recordAnswer.executeWithOptions(
          {
            startToCloseTimeout: '1 minute',
            retry: { maximumAttempts: 3 },
            ...deps.activityOptions(),
            summary: `answer ${where.step}${where.item ? ` [${where.item}]` : ''}: ${where.route ?? 'answered'}${where.target ? ` → ${where.target}` : ''}`,
          },
          [
            {
              run: deps.run(),
              execution: deps.nextExecution(),
              step: where.step,
              item: where.item,
              requestId: asked.requestId,
              question: asked.question,
              value: asked.value,
              route: where.route,
              target: where.target,
              updateId: asked.updateId,
              ...(asked.agentQuestion ? { agentQuestion: asked.agentQuestion } : {}),
            },
          ],
        );
        Object.assign(entry, { by: written.by, at: written.at, evidence: written.evidence });
      } catch (err) {
        log.warn(`the answer to ${asked.requestId} could not be recorded: ${(err as Error).message}`);
      }
    }
    // who decided, when it was not the message's sender (a pull request's reviewer, through sop serve)
    if (where.by) entry.by = where.by;
    keep(entry);
    return entry;
  }

  return {
    ask,
    record,
    /** every request waiting for a person, oldest first */
    pending: (): PendingInput[] => queue.map(({ validator: _v, answer: _a, review: _r, ...view }) => view),
    /** the review gate waiting for its answer now (reviews.ts answers it with the pull request's review) */
    reviewGate: (): { requestId: string; step: string; allow?: string[] } | undefined => {
      const gate = queue.find((r) => r.kind === 'input' && r.review && !r.answer);
      return gate ? { requestId: gate.requestId, step: gate.step, allow: gate.review?.allow } : undefined;
    },
    /** answers a review gate (the value fits REVIEW_ANSWER_SCHEMA by construction) */
    answerGate: (requestId: string, value: unknown) => {
      const gate = queue.find((r) => r.requestId === requestId);
      if (gate && !gate.answer) gate.answer = { value };
    },
  };
}
