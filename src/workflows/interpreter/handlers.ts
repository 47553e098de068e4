// The run's message handlers: answers to the pending input request, operator messages, and the
// status and checkpoint queries.
import { ApplicationFailure, log, setHandler } from '@temporalio/workflow';
import {
  ANSWER_SHAPE,
  type AnswerInput,
  AnswerInputSchema,
  MESSAGE_SHAPE,
  MessageTextSchema,
  parseMessageArg,
} from '../../model/message-args';
import type { RunCheckpoint } from '../../model/run';
import {
  answerSignal,
  answerUpdate,
  checkpointQuery,
  messageSignal,
  type RunStatusView,
  statusQuery,
} from '../messages';
import type { RunContext } from './context';

/** Why an answer cannot be taken (undefined: it fits the pending request). */
function answerProblem(ctx: RunContext, value: AnswerInput): string | undefined {
  const { pending } = ctx;
  if (!pending) return 'this run is not waiting for input';
  if (value.requestId && value.requestId !== pending.requestId) {
    return `no pending request ${value.requestId}; the run waits for ${pending.requestId}`;
  }
  let result: ReturnType<typeof pending.validator.validate>;
  try {
    result = pending.validator.validate(value.value);
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
function checkAnswer(ctx: RunContext, arg: unknown): { answer: AnswerInput } | { problem: string } {
  const parsed = parseMessageArg(AnswerInputSchema, arg, 'answer', ANSWER_SHAPE);
  if (!parsed.ok) return { problem: parsed.problem };
  const problem = answerProblem(ctx, parsed.value);
  return problem ? { problem } : { answer: parsed.value };
}

/**
 * Every handler checks its argument before anything else: whatever a client sends, a message can never
 * throw inside a workflow task (which would fail every task after it and brick the run). Updates are
 * refused with the reason and the expected shape; signals cannot answer, so they are ignored with the
 * reason in the worker's log.
 */
export function installHandlers(ctx: RunContext): void {
  const { input, plan, run, state } = ctx;
  setHandler(
    answerUpdate,
    (value) => {
      ctx.answer = value;
      return { accepted: true as const };
    },
    {
      validator: (value) => {
        const checked = checkAnswer(ctx, value);
        if ('problem' in checked) {
          throw ApplicationFailure.create({
            type: 'InvalidAnswer',
            message: checked.problem,
            nonRetryable: true,
          });
        }
      },
      description: `Answer the pending input request: ${ANSWER_SHAPE}, the value validated against its schema`,
    },
  );
  setHandler(answerSignal, (value) => {
    const checked = checkAnswer(ctx, value);
    if ('problem' in checked) log.warn(`ignored submitAnswer signal: ${checked.problem}`);
    else ctx.answer = checked.answer;
  });
  setHandler(messageSignal, (text) => {
    const parsed = parseMessageArg(MessageTextSchema, text, 'message', MESSAGE_SHAPE);
    if (!parsed.ok) log.warn(`ignored message signal: ${parsed.problem}`);
    else state.pendingMessages.push(parsed.value);
  });
  setHandler(checkpointQuery, (): RunCheckpoint => {
    const { resume: _resume, restart: _restart, ...original } = input;
    return {
      input: original,
      state,
      inProgress: state.started.filter((s) => !state.done.includes(s)),
      status: ctx.status,
    };
  });
  setHandler(
    statusQuery,
    (): RunStatusView => ({
      sop: plan.sop,
      taskId: run.taskId,
      bundleHash: plan.bundleHash,
      status: ctx.status,
      active: [...ctx.active.values()],
      worklists: state.worklists,
      routesTaken: state.routesTaken,
      routesTakenCount: state.routesTakenCount,
      pendingInput: ctx.pending
        ? {
            requestId: ctx.pending.requestId,
            step: ctx.pending.step,
            item: ctx.pending.item,
            question: ctx.pending.question,
            schema: ctx.pending.schema,
          }
        : undefined,
      usage: state.usage,
      deniedCalls: state.deniedCalls,
      denials: state.denials,
      relaunches: state.relaunches,
      failure: ctx.failure,
    }),
  );
}
