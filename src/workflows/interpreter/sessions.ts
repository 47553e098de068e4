// Session slots (`session:` on an agent step or role): which harness session an execution continues.
// The slot's session id and running usage totals live in workflow state; the session files stay with the
// worker's harness home, and the activity falls back to a fresh session (saying why) when they are gone.
import type { AgentStepResult, SessionRequest } from '../../shapes/contract';
import { type RoleSpec, sessionSlot } from '../../shapes/execution-plan';
import type { RunContext } from './context';

/**
 * Gates sessions: runs before it never resumed a harness session across executions. On from engine 3
 * (patches.ts): only plans compiled with `session:` reach it, and no earlier run has one.
 */
const AGENT_SESSIONS_PATCH = 'agent-sessions-v1';

/** The slot this execution runs in and the session to resume, claimed until `releaseSession`. */
export function claimSession(
  ctx: RunContext,
  spec: RoleSpec,
  step: string,
  item: string | undefined,
): SessionRequest | undefined {
  const slot = sessionSlot(spec.session, step, item);
  if (slot === undefined || !ctx.isPatched(AGENT_SESSIONS_PATCH)) return undefined;
  ctx.sessionsInUse ??= new Set();
  if (ctx.sessionsInUse.has(slot)) {
    // parallel items or branches in one slot: a session cannot continue in two places at once
    return { slot, busy: true, freshReason: `another execution runs in slot ${slot} right now` };
  }
  ctx.sessionsInUse.add(slot);
  const held = ctx.state.sessions?.[slot];
  if (!held) return { slot };
  if (held.provider !== spec.provider) {
    return {
      slot,
      freshReason: `the slot's session ${held.sessionId} is a ${held.provider} session; this role runs ${spec.provider}`,
    };
  }
  return { slot, resume: held };
}

/** Records the session the execution ran in as the slot's, and frees the slot. */
export function releaseSession(
  ctx: RunContext,
  request: SessionRequest | undefined,
  spec: RoleSpec,
  result: AgentStepResult | undefined,
): void {
  if (!request || request.busy) return;
  ctx.sessionsInUse?.delete(request.slot);
  const report = result?.session;
  if (!report?.sessionId || !report.totals) return;
  ctx.state.sessions ??= {};
  ctx.state.sessions[request.slot] = {
    provider: spec.provider,
    sessionId: report.sessionId,
    totals: report.totals,
  };
}
