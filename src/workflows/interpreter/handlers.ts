// The run's message handlers: operator messages and the status and checkpoint queries (answers and tool
// approvals: human.ts).
import { log, setHandler } from '@temporalio/workflow';
import { MESSAGE_SHAPE, MessageTextSchema, parseMessageArg } from '../../shapes/message-args';
import { checkpointQuery, messageSignal, type RunStatusView, statusQuery } from '../../shapes/messages';
import type { RunCheckpoint } from '../../shapes/run';
import { waitingInChild } from './children';
import type { RunContext } from './context';
import { installReviewHandler } from './reviews';

/**
 * Every handler checks its argument before anything else: whatever a client sends, a message can never
 * throw inside a workflow task (which would fail every task after it and brick the run). Updates are
 * refused with the reason and the expected shape; signals cannot answer, so they are ignored with the
 * reason in the worker's log.
 */
export function installHandlers(ctx: RunContext): void {
  const { input, plan, state } = ctx;
  installReviewHandler(ctx);
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
      taskId: ctx.run.taskId,
      bundleHash: plan.bundleHash,
      status: ctx.status,
      active: [...ctx.active.values()],
      worklists: state.worklists,
      routesTaken: state.routesTaken,
      routesTakenCount: state.routesTakenCount,
      pendingInput: ctx.human.pending()[0],
      pendingInputs: ctx.human.pending(),
      answers: state.answers,
      ...(state.reviews?.length ? { reviews: state.reviews } : {}),
      usage: state.usage,
      deniedCalls: state.deniedCalls,
      denials: state.denials,
      ...(state.mcpCalls ? { mcpCalls: state.mcpCalls } : {}),
      relaunches: state.relaunches,
      ...(ctx.fleet ? { placement: ctx.fleet.placement } : {}),
      failure: ctx.failure,
      ...(waitingInChild(ctx) ? { waitingIn: waitingInChild(ctx) } : {}),
      ...(state.childUsage ? { childUsage: state.childUsage } : {}),
      ...(state.forge ? { forge: state.forge } : {}),
    }),
  );
}
