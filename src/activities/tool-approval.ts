// The activity's side of per-tool-call approval: Claude Code asked (through the approval MCP server) to
// run a tool call the step's `ask:` policy holds. The activity tells its own run (a signal; the run then
// shows waiting_input with the call), polls the run for the person's decision while it keeps
// heartbeating, and withdraws the request when it times out or the activity is cancelled.

import type { Client } from '@temporalio/client';
import type { ToolApprovalRequest } from '../harnesses/approval/channel';
import type { ToolCallVerdict } from '../harnesses/runner';
import {
  type ToolApprovalDecision,
  type ToolCallView,
  toolApprovalSignal,
  toolApprovalWithdrawnSignal,
  toolDecisionQuery,
} from '../shapes/messages';
import { findAnswerSender } from './answer-sender';

const POLL_MS = 1_000;
/** Tool inputs are shown in the run's status and history: long values are cut (evidence has them whole). */
const INPUT_VALUE_LIMIT = 2_000;

export interface ToolApprovalContext {
  client: Client;
  workflowId: string;
  step: string;
  item?: string;
  role: string;
  attempt: number;
  signal: AbortSignal;
}

let counter = 0;

export async function askThroughRun(
  ctx: ToolApprovalContext,
  request: ToolApprovalRequest,
  timeoutMs: number,
): Promise<ToolCallVerdict> {
  const handle = ctx.client.workflow.getHandle(ctx.workflowId);
  const requestId = `${ctx.step}${ctx.item ? `-${ctx.item}` : ''}-tool-${request.tool_use_id?.slice(-8) ?? `${Date.now()}-${++counter}`}`;
  const tool: ToolCallView = {
    name: request.tool_name,
    input: boundedInput(request.input),
    role: ctx.role,
    attempt: ctx.attempt,
  };
  await handle.signal(toolApprovalSignal, { requestId, step: ctx.step, item: ctx.item, tool });
  const deadline = Date.now() + timeoutMs;
  let decision: ToolApprovalDecision | null = null;
  while (!decision) {
    if (ctx.signal.aborted || Date.now() >= deadline) {
      const reason = ctx.signal.aborted
        ? 'the step was stopped while waiting'
        : `nobody answered within ${Math.round(timeoutMs / 1000)} s (ask_timeout)`;
      await handle.signal(toolApprovalWithdrawnSignal, { requestId, reason }).catch(() => undefined);
      return {
        decision: { behavior: 'deny', message: `not approved: ${reason}` },
        timedOut: !ctx.signal.aborted,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    decision = await handle.query(toolDecisionQuery, requestId).catch(() => null);
  }
  const sender = await findAnswerSender(handle, decision.updateId).catch(() => ({}));
  const who = 'by' in sender && sender.by ? ` (${sender.by})` : '';
  return {
    ...sender,
    decision: decision.approve
      ? { behavior: 'allow', updatedInput: request.input }
      : {
          behavior: 'deny',
          message: `A person${who} denied this ${request.tool_name} call${decision.guidance ? `: ${decision.guidance}` : '.'}`,
        },
  };
}

function boundedInput(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(input).map(([key, value]) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      if (text === undefined || text.length <= INPUT_VALUE_LIMIT) return [key, value];
      return [key, `${text.slice(0, INPUT_VALUE_LIMIT)}… (${text.length} characters)`];
    }),
  );
}
