// Asking a person a SOP question (input steps, request_input) and recording the answer as evidence.
// Deterministic workflow code: the record is written by an activity.
import { Validator } from '@cfworker/json-schema';
import { condition, log, proxyActivities } from '@temporalio/workflow';
import type { InterpreterActivities } from '../../activities/interpreter-activities';
import { type AgentQuestion, answerSchemaFor } from '../../shapes/agent-question';
import type { WorkItem } from '../../shapes/contract';
import type { InputRequestSpec } from '../../shapes/execution-plan';
import { renderText } from '../../shapes/render-text';
import type { AnswerRecord } from '../../shapes/run';
import { type Asked, type HumanRequests, keepAnswer, type Request } from './human-requests';

/** Runs started before answers were recorded as evidence keep their history layout. */
const ANSWER_RECORD_PATCH = 'answer-record-v1';

const { recordAnswer } = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

/** Where an answer goes: the step (and item) that asked, the route it takes and its target. */
export interface AnswerWhere {
  step: string;
  item?: string;
  route?: string;
  target?: string;
  /** who decided, when it was not the message's sender (a pull request's reviewer, through sop serve) */
  by?: string;
}

/** Asks a person; one SOP question at a time (tool approvals may wait beside it). */
export async function askPerson(
  requests: HumanRequests,
  step: string,
  item: WorkItem | undefined,
  spec: InputRequestSpec,
  rework: number,
  /** the routes the answer can take (shown to whoever answers) */
  routes?: string[],
  /** the agent's own question for this request (agent_asks), shown next to the SOP's */
  agent?: AgentQuestion,
): Promise<Asked> {
  const { deps, queue } = requests;
  requests.counter++;
  const question = renderText(spec.question, {
    ...deps.questionScope(),
    step: { name: step, rework },
    item: item ? { ...item, key: item.id } : undefined,
  });
  await condition(() => !queue.some((r) => r.kind === 'input'));
  // an answer fits the step's schema and, when the agent narrowed it, the agent's too
  const schema = answerSchemaFor(spec.schema, agent);
  const request: Request = {
    requestId: `${step}${item ? `-${item.id}` : ''}-${requests.counter}`,
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
  deps.waitingChanged();
  let arrived = true;
  if (spec.timeoutMs) arrived = await condition(() => request.answer !== undefined, spec.timeoutMs);
  else await condition(() => request.answer !== undefined);
  queue.splice(queue.indexOf(request), 1);
  deps.waitingChanged();
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
export async function recordAnswerOf(
  requests: HumanRequests,
  asked: Extract<Asked, { answered: true }>,
  where: AnswerWhere,
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
  const { deps } = requests;
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
  keepAnswer(deps, entry);
  return entry;
}
