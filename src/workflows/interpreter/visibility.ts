// What the run shows outside its history: the SopStatus and SopStep search attributes and the Web UI's
// current details.
import { condition, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { executionLabel, rateLimitNote } from '../../shapes/execution-label';
import type { RunStatus } from '../../shapes/run';
import { SopKind, SopName, SopStatus, SopStep, SopTaskId } from '../../temporal/search-attributes';
import type { RunContext } from './context';

const STEP_ATTRIBUTE_DELAY_MS = 2_000;
// Before this patch a run started without SopName/SopTaskId (by a client other than SopClient) never got
// them, so `sop runs list` and the Web UI filter could not find it.
const OWN_SEARCH_ATTRIBUTES_PATCH = 'workflow-sets-sop-name-v1';
// Before this patch SopStep kept naming the step before an input step while the run waited in it, and
// kept naming the last step after the run had ended.
const STEP_ATTRIBUTE_INPUT_AND_END_PATCH = 'sop-step-input-and-end-v1';

/** SopStep names the step whose input the run waits for (runs started before the patch: unchanged). */
export function showInputStep(ctx: RunContext, step: string): void {
  if (ctx.wantedStep !== step && ctx.isPatched(STEP_ATTRIBUTE_INPUT_AND_END_PATCH)) setCurrentStep(ctx, step);
}

/** A run that has ended is in no step: SopStep is removed (when it was ever written). */
export function clearCurrentStep(ctx: RunContext): void {
  if (ctx.wantedStep === undefined && ctx.lastStepAttr === undefined) return;
  if (!ctx.isPatched(STEP_ATTRIBUTE_INPUT_AND_END_PATCH)) return;
  const shown = ctx.lastStepAttr;
  // also stops showCurrentStep (engine 2) from writing a step that still waits for its delay
  ctx.wantedStep = undefined;
  ctx.lastStepAttr = undefined;
  if (shown !== undefined) upsertSearchAttributes([{ key: SopStep, value: null }]);
}

/** What the Web UI shows as the run's current details (not history: it may change freely). */
export function refreshDetails(ctx: RunContext): void {
  const { plan, state } = ctx;
  const now = [...ctx.active.values()].map((a) => {
    const label = executionLabel(a);
    if (a.waitingForQuota) return `${label} — ${a.waitingForQuota}`;
    if (a.rateLimitedUntilMs === undefined) return label;
    const clock = `${new Date(a.rateLimitedUntilMs).toISOString().slice(11, 19)} UTC`;
    return `${label} — ${rateLimitNote(a.rateLimitedUntilMs, Date.now(), clock)}`;
  });
  const lines = [`**${plan.sop}** · ${ctx.status}${ctx.input.request ? ` — ${ctx.input.request}` : ''}`];
  if (now.length) lines.push(`Now: ${now.join('; ')}`);
  // an agent's actions are its activity's heartbeat details: the workflow never sees them (no history
  // event per action), so the details say where they are
  if (
    [...ctx.active.values()].some(
      (a) => a.provider !== undefined && a.rateLimitedUntilMs === undefined && !a.waitingForQuota,
    )
  )
    lines.push(
      `What the agent is doing: its latest actions are the heartbeat details of its activity under Pending Activities, or \`sop logs ${workflowInfo().workflowId} --follow\``,
    );
  for (const pending of ctx.human?.pending() ?? []) {
    const what = pending.kind === 'tool_approval' ? 'approval' : 'input';
    lines.push(`Waiting for ${what} \`${pending.requestId}\`: ${pending.question}`);
    const agent = pending.agentQuestion;
    if (agent) lines.push(`The agent asks: ${agent.question}\n\nWhy: ${agent.reason}`);
  }
  for (const child of ctx.children?.running.values() ?? []) {
    if (child.waitingIn) lines.push(`Waiting for input in child run \`${child.waitingIn.workflowId}\``);
  }
  const children = state.childUsage;
  lines.push(
    `Routes taken: ${state.routesTakenCount} · agent runs: ${state.usage.agentRuns} · cost: $${state.usage.costUsd.toFixed(4)}${children ? ` · child runs: ${children.agentRuns} agent runs, $${children.costUsd.toFixed(4)}` : ''}${state.deniedCalls ? ` · denied tool calls: ${state.deniedCalls}` : ''}`,
  );
  setCurrentDetails(lines.join('\n\n'));
}

export function setStatus(ctx: RunContext, next: RunStatus): void {
  if (ctx.status === next) return;
  ctx.status = next;
  upsertSearchAttributes([{ key: SopStatus, value: next }]);
  refreshDetails(ctx);
}

/** Engine 1 writes SopStep at once; engine 2 leaves it to showCurrentStep. */
export function setCurrentStep(ctx: RunContext, step: string): void {
  ctx.wantedStep = step;
  if (ctx.engine >= 2 || ctx.lastStepAttr === step) return;
  ctx.lastStepAttr = step;
  upsertSearchAttributes([{ key: SopStep, value: step }]);
}

// Engine 2: SopStep shows a step once it has been current for STEP_ATTRIBUTE_DELAY_MS. Each upsert is
// a visibility write (the dev server's bottleneck under load); steps quicker than that are not worth one.
export async function showCurrentStep(ctx: RunContext): Promise<void> {
  for (;;) {
    await condition(() => ctx.wantedStep !== ctx.lastStepAttr);
    const candidate = ctx.wantedStep;
    const moved = await condition(() => ctx.wantedStep !== candidate, STEP_ATTRIBUTE_DELAY_MS);
    if (!moved && candidate !== undefined) {
      ctx.lastStepAttr = candidate;
      upsertSearchAttributes([{ key: SopStep, value: candidate }]);
    }
  }
}

/**
 * At the start of an execution: the run's own search attributes and current details, whoever started it.
 * SopName and SopTaskId when the starter did not set them (with the status, one visibility write); else
 * SopStatus as before (engine 2: only when the run was not started or continued with it already set).
 */
export function showRunning(ctx: RunContext): void {
  const current = workflowInfo().typedSearchAttributes;
  const identity = [
    { key: SopName, value: ctx.plan.sop },
    { key: SopTaskId, value: ctx.run.taskId },
  ].filter(({ key, value }) => current.get(key) !== value);
  // a run of `sop test` (runs started before the option existed have none: their commands are unchanged)
  const kind = ctx.input.options?.kind;
  const marks = kind && current.get(SopKind) !== kind ? [{ key: SopKind, value: kind }] : [];
  if (identity.length > 0 && ctx.isPatched(OWN_SEARCH_ATTRIBUTES_PATCH)) {
    upsertSearchAttributes([...identity, ...marks, { key: SopStatus, value: 'running' }]);
  } else if (ctx.engine < 2 || current.get(SopStatus) !== 'running') {
    upsertSearchAttributes([...marks, { key: SopStatus, value: 'running' }]);
  } else if (marks.length > 0) {
    upsertSearchAttributes(marks);
  }
  refreshDetails(ctx);
}
