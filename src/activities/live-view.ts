// The agent activity's side of the live view: one LiveRecorder per launch, heartbeated as the activity's
// details (by the keep-alive timer and after every harness event), and the tool approvals a person is asked
// for recorded in it (both harnesses ask through the activity).

import type { ToolApprovalRequest } from '../harnesses/approval/channel';
import { LiveRecorder } from '../harnesses/live-activity';
import type { ToolCallVerdict } from '../harnesses/runner';
import type { AgentStepRequest } from '../shapes/contract';

export function liveRecorderFor(request: AgentStepRequest): LiveRecorder {
  const live = new LiveRecorder({
    step: request.step,
    role: request.role,
    attempt: request.attempt,
    ...(request.context.item ? { item: request.context.item.id } : {}),
  });
  live.harness(request.spec.provider);
  return live;
}

/** `approve` with the question and its answer shown live (approval asked / decided). */
export function approvalsShown(
  live: LiveRecorder,
  heartbeat: () => void,
  approve: (request: ToolApprovalRequest, timeoutMs: number) => Promise<ToolCallVerdict>,
): (request: ToolApprovalRequest, timeoutMs: number) => Promise<ToolCallVerdict> {
  return async (request, timeoutMs) => {
    const tool = request.tool_name;
    live.add({ kind: 'approval', phase: 'asked', tool, input: JSON.stringify(request.input) });
    heartbeat();
    const verdict = await approve(request, timeoutMs);
    live.add({
      kind: 'approval',
      phase: 'decided',
      tool,
      approved: verdict.decision.behavior === 'allow',
      ...(verdict.by ? { by: verdict.by } : verdict.timedOut ? { by: 'nobody (timed out)' } : {}),
    });
    heartbeat();
    return verdict;
  };
}
