// The run's message handlers: answers to the pending input request, operator messages, and the
// status and checkpoint queries.
import { ApplicationFailure, log, setHandler } from '@temporalio/workflow';
import type { RunCheckpoint } from '../../model/run';
import {
  type AnswerInput,
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
  const result = pending.validator.validate(value.value);
  if (result.valid) return undefined;
  const details = result.errors
    .filter((e) => e.keyword !== 'properties')
    .map(
      (e) =>
        `${e.instanceLocation === '#' ? 'answer' : e.instanceLocation.replace(/^#/, 'answer')}: ${e.error}`,
    );
  return `the answer does not fit the requested schema: ${details.join('; ')}`;
}

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
        const problem = answerProblem(ctx, value);
        if (problem) throw ApplicationFailure.create({ type: 'InvalidAnswer', message: problem });
      },
      description: 'Answer the pending input request (validated against its schema)',
    },
  );
  setHandler(answerSignal, (value) => {
    const problem = answerProblem(ctx, value);
    if (problem) log.warn(`ignored answer signal: ${problem}`);
    else ctx.answer = value;
  });
  setHandler(messageSignal, (text) => {
    state.pendingMessages.push(text);
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
      failure: ctx.failure,
    }),
  );
}
