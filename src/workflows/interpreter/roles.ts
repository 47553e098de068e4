// One role (agent, producer or verifier) of a step: the harness run with agent-protocol retries (bad
// outcome, illegal route, missing or stale artifact); launches.ts launches again and parks.
import { log } from '@temporalio/workflow';
import type { AgentStepResult, PromptContext, Role, WorkItem } from '../../shapes/contract';
import { denialProblems } from '../../shapes/denial-text';
import { executionLabel } from '../../shapes/execution-label';
import type { RoleSpec, RouteSpec, StepSpec } from '../../shapes/execution-plan';
import { protocolProblems } from '../../shapes/protocol';
import { budgetProblem } from './budgets';
import { reportUsage } from './children';
import { activeKey, fail, type RunContext } from './context';
import { recordDenials } from './denials';
import { launchAgent } from './launches';
import { claimSession, releaseSession } from './sessions';
import { refreshDetails, setCurrentStep } from './visibility';
import { markInPlaceWork, worktreeOf } from './worktrees';

// Before this patch an artifact the verifier's route requires but only the producer writes was the
// verifier's agent-protocol failure: retried on the verifier, which cannot write it.
const REWORK_TO_PRODUCER_PATCH = 'missing-producer-artifact-is-rework-v1';

export type RoleOutcome =
  | {
      ok: true;
      route: string;
      payload: unknown;
      written: Record<string, string>;
      /** verifier: what its route requires that the producer did not write; the work goes back to the producer */
      producerFindings?: string[];
    }
  | { ok: false; problem: string };

/** Artifacts a route of a produce/verify step requires that its verifier does not write: the producer's. */
function producerArtifacts(step: StepSpec): string[] {
  if (step.kind !== 'produce_verify') return [];
  const verifierWrites = step.verifier?.writes ?? [];
  return [...new Set(step.routes.flatMap((r) => r.requires))].filter((n) => !verifierWrites.includes(n));
}

function promptContext(
  ctx: RunContext,
  step: StepSpec,
  item: WorkItem | undefined,
  rework: number,
  attempt: number,
): PromptContext {
  return {
    input: ctx.input.input,
    params: ctx.input.params,
    item: item ? { ...item, key: item.id } : undefined,
    steps: ctx.state.outputs,
    step: { name: step.name, rework, attempt },
  };
}

export async function runRole(
  ctx: RunContext,
  step: StepSpec,
  role: Role,
  spec: RoleSpec,
  item: WorkItem | undefined,
  rework: number,
  feedbackIn: string[],
  writtenThisIteration: Record<string, string> = {},
): Promise<RoleOutcome> {
  const { plan, run, state } = ctx;
  const routes: RouteSpec[] =
    role === 'producer' ? [{ name: 'done', target: { kind: 'finish' }, requires: spec.writes }] : step.routes;
  // the producer reports the artifacts the verifier's routes need from it too, so they count as written
  // by this iteration when the verifier checks them
  const ownedByProducer = producerArtifacts(step);
  const artifactNames = new Set([
    ...spec.writes,
    ...routes.flatMap((r) => r.requires),
    ...(role === 'producer' ? ownedByProducer : []),
  ]);
  const artifacts = plan.artifacts.filter((a) => artifactNames.has(a.name));
  let feedback = feedbackIn;
  let lastProblem = '';
  const key = activeKey(step.name, item?.id, role);
  const worktree = worktreeOf(ctx, step.name, item?.id);
  if (!worktree) markInPlaceWork(ctx);
  for (let attempt = 1; attempt <= step.maxAttempts; attempt++) {
    const budget = budgetProblem(ctx);
    if (budget) fail(`${budget} before ${step.name}${item ? ` (${item.id})` : ''} could start`);
    const messages = state.pendingMessages.splice(0).map((m) => `Message from the operator: ${m}`);
    const label = { step: step.name, item: item?.id, role, attempt, rework, provider: spec.provider };
    ctx.active.set(key, label);
    setCurrentStep(ctx, step.name);
    refreshDetails(ctx);
    state.executions++;
    const request = {
      run,
      step: step.name,
      role,
      attempt,
      execution: state.executions,
      spec,
      routes,
      artifacts,
      context: promptContext(ctx, step, item, rework, attempt),
      feedback: [...feedback, ...messages],
      timeoutMs: step.timeoutMs,
      ...(worktree ? { worktree } : {}),
      // the role that picks the route may ask for deliveries the SOP allows (deliveries.ts checks them)
      ...(ctx.deliver?.agent && role !== 'producer' ? { deliver: ctx.deliver.agent } : {}),
    };
    const summary = executionLabel(label);
    const session = claimSession(ctx, spec, step.name, item?.id);
    let result: AgentStepResult | undefined;
    try {
      result = await launchAgent(ctx, session ? { ...request, session } : request, summary, {
        writtenByProducer: writtenThisIteration,
        ownedByProducer: role === 'verifier' ? ownedByProducer : [],
      });
    } finally {
      ctx.active.delete(key);
      releaseSession(ctx, session, spec, result);
    }
    refreshDetails(ctx);
    state.usage.inputTokens += result.usage.inputTokens;
    state.usage.outputTokens += result.usage.outputTokens;
    state.usage.costUsd += result.usage.costUsd;
    state.usage.agentRuns++;
    reportUsage(ctx);
    recordDenials(ctx, result, { step: step.name, item: item?.id, role });
    const found = protocolProblems(
      result,
      routes,
      role,
      writtenThisIteration,
      role === 'verifier' ? ownedByProducer : [],
    );
    // the verifier cannot write what the producer did not: that goes back to the producer as rework
    const toProducer = found.some((p) => p.finding) && ctx.isPatched(REWORK_TO_PRODUCER_PATCH);
    const producerFindings = toProducer ? found.flatMap((p) => (p.finding ? [p.finding] : [])) : [];
    const problems = [
      ...found.filter((p) => !(toProducer && p.finding)).map((p) => p.problem),
      ...denialProblems(result, spec),
    ];
    if (problems.length === 0) {
      const written = Object.fromEntries(
        result.artifacts.filter((a) => a.fresh && a.valid && a.sha256).map((a) => [a.name, a.sha256!]),
      );
      // the producer's own outcome is optional: writing its artifacts is what counts
      return {
        ok: true,
        route: result.outcome?.route ?? 'done',
        payload: result.outcome?.payload ?? null,
        written,
        ...(producerFindings.length > 0 ? { producerFindings } : {}),
      };
    }
    lastProblem = problems.join('; ');
    log.info(`${summary}: agent-protocol failure: ${lastProblem}`);
    feedback = [
      `Your previous attempt (${attempt} of ${step.maxAttempts}) was not accepted by the runtime:`,
      ...problems.map((p) => `- ${p}`),
      'Fix these and finish again.',
    ];
  }
  return { ok: false, problem: `${role} failed ${step.maxAttempts} attempt(s): ${lastProblem}` };
}
