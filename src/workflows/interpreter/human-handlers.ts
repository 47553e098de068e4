// The messages a person (or the agent activity) sends a waiting run: answers (the `answer` update and its
// `submitAnswer` signal twin), tool calls held by an `ask:` policy and their withdrawal, and the query the
// agent activity polls for a tool call's decision. Deterministic workflow code.
import { Validator } from '@cfworker/json-schema';
import { ApplicationFailure, currentUpdateInfo, log, setHandler } from '@temporalio/workflow';
import { APPROVAL_ANSWER_SCHEMA } from '../../shapes/execution-plan';
import {
  ANSWER_SHAPE,
  parseMessageArg,
  TOOL_APPROVAL_SHAPE,
  TOOL_APPROVAL_WITHDRAWN_SHAPE,
  ToolApprovalAskSchema,
  ToolApprovalWithdrawnSchema,
} from '../../shapes/message-args';
import {
  answerSignal,
  answerUpdate,
  toolApprovalSignal,
  toolApprovalWithdrawnSignal,
  toolDecisionQuery,
} from '../../shapes/messages';
import { acceptAnswer, checkAnswer, type HumanRequests } from './human-requests';

/** The answer update (a wrong answer is rejected and nothing recorded) and the submitAnswer signal. */
export function registerAnswerHandlers(requests: HumanRequests): void {
  setHandler(
    answerUpdate,
    (value) => {
      acceptAnswer(requests, value, currentUpdateInfo()?.id);
      return { accepted: true as const };
    },
    {
      validator: (value) => {
        const checked = checkAnswer(requests.queue, value);
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
    const checked = checkAnswer(requests.queue, value);
    if ('problem' in checked) log.warn(`ignored submitAnswer signal: ${checked.problem}`);
    else acceptAnswer(requests, checked.answer);
  });
}

/** A tool call the agent activity holds for approval: asked, withdrawn, and its decision queried. */
export function registerToolApprovalHandlers(requests: HumanRequests): void {
  const { queue, decisions, deps } = requests;
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
    deps.waitingChanged();
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
    deps.waitingChanged();
  });
  setHandler(toolDecisionQuery, (requestId) =>
    typeof requestId === 'string' ? (decisions.get(requestId) ?? null) : null,
  );
}
