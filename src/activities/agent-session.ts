// The session slot of one agent execution on this worker: resume the slot's session when its files are
// here, else start a fresh one and say why; then report what happened for the evidence and the workflow.
import * as os from 'node:os';
import type { AgentRunner, AgentRunResult, ExecutionSession } from '../harnesses/runner';
import { sessionHome } from '../harnesses/sessions';
import type { AgentStepRequest, SessionReport } from '../shapes/contract';

export interface OpenedSession {
  /** for the runner: undefined when the execution runs outside the slot (another one holds it) */
  execution?: ExecutionSession;
  resumed: boolean;
  freshReason?: string;
}

export function openSession(
  request: AgentStepRequest,
  runner: AgentRunner,
  workflowId: string,
): OpenedSession | undefined {
  const wanted = request.session;
  if (!wanted) return undefined;
  if (wanted.busy) return { resumed: false, freshReason: wanted.freshReason };
  const home = sessionHome(workflowId, wanted.slot);
  const held = wanted.resume;
  if (!held) {
    return { execution: { slot: wanted.slot, home }, resumed: false, freshReason: wanted.freshReason };
  }
  if (!runner.hasSession?.(home, held.sessionId)) {
    return {
      execution: { slot: wanted.slot, home },
      resumed: false,
      freshReason: `the files of session ${held.sessionId} are not on this worker (${os.hostname()}): the run moved to another worker or they were removed, so the slot started a fresh session`,
    };
  }
  return {
    execution: { slot: wanted.slot, home, resumeId: held.sessionId, before: held.totals },
    resumed: true,
  };
}

/** What the execution did with its slot (undefined when the role has no slot). */
export function sessionReport(
  request: AgentStepRequest,
  opened: OpenedSession | undefined,
  run: AgentRunResult,
): SessionReport | undefined {
  if (!request.session || !opened) return undefined;
  return {
    slot: request.session.slot,
    ...(run.sessionId ? { sessionId: run.sessionId } : {}),
    resumed: opened.resumed,
    ...(opened.freshReason ? { freshReason: opened.freshReason } : {}),
    ...(opened.execution && run.sessionTotals ? { totals: run.sessionTotals } : {}),
  };
}
