// One role (agent, producer or verifier) of a step: the harness run with agent-protocol retries (bad
// outcome, illegal route, missing or stale artifact), and parking while the provider rate-limits.
import { ActivityFailure, ApplicationFailure, isCancellation, log, sleep } from '@temporalio/workflow';
import type { InterpreterActivities } from '../../activities/interpreter-activities';
import {
  type AgentStepResult,
  type ArtifactReport,
  type PromptContext,
  RATE_LIMITED,
  type RateLimitDetails,
  type Role,
  type WorkItem,
} from '../../model/contract';
import type { RoleSpec, RouteSpec, StepSpec } from '../../model/plan';
import { agentActivities } from './activities';
import { budgetProblem } from './budgets';
import { fail, type RunContext } from './context';
import { refreshDetails, setCurrentStep } from './visibility';

export type RoleOutcome =
  | { ok: true; route: string; payload: unknown; written: Record<string, string> }
  | { ok: false; problem: string };

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
  const artifactNames = new Set([...spec.writes, ...routes.flatMap((r) => r.requires)]);
  const artifacts = plan.artifacts.filter((a) => artifactNames.has(a.name));
  let feedback = feedbackIn;
  let lastProblem = '';
  const key = `${step.name}#${item?.id ?? ''}#${role}`;
  for (let attempt = 1; attempt <= step.maxAttempts; attempt++) {
    const budget = budgetProblem(ctx);
    if (budget) fail(`${budget} before ${step.name}${item ? ` (${item.id})` : ''} could start`);
    const messages = state.pendingMessages.splice(0).map((m) => `Message from the operator: ${m}`);
    ctx.active.set(key, { step: step.name, item: item?.id, role, attempt });
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
    };
    const summary = [step.name, item?.id, role, `attempt ${attempt}`, spec.provider]
      .filter(Boolean)
      .join(' · ');
    let result: AgentStepResult;
    try {
      result = await runAgentWithParking(ctx, request, summary, step.timeoutMs);
    } finally {
      ctx.active.delete(key);
    }
    refreshDetails(ctx);
    state.usage.inputTokens += result.usage.inputTokens;
    state.usage.outputTokens += result.usage.outputTokens;
    state.usage.costUsd += result.usage.costUsd;
    state.usage.agentRuns++;
    const problems = protocolProblems(result, routes, role, writtenThisIteration);
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

function protocolProblems(
  result: AgentStepResult,
  routes: RouteSpec[],
  role: Role,
  writtenThisIteration: Record<string, string>,
): string[] {
  const problems = result.violations.map((v) => `policy violation: ${v}`);
  let route: RouteSpec | undefined;
  if (role === 'producer') {
    route = routes[0];
  } else if (!result.outcome) {
    problems.push(result.outcomeError ?? 'no outcome was returned');
  } else {
    route = routes.find((r) => r.name === result.outcome?.route);
    if (!route) {
      problems.push(
        `route "${result.outcome.route}" is not a legal outcome of this step; choose one of: ${routes.map((r) => r.name).join(', ')}`,
      );
    }
  }
  for (const name of route?.requires ?? []) {
    let report = result.artifacts.find((a) => a.name === name);
    // written by the producer of this iteration and untouched since: fresh for the verifier too
    if (report && !report.fresh && report.sha256 && writtenThisIteration[name] === report.sha256) {
      report = { ...report, fresh: true };
    }
    const problem = artifactProblem(name, report);
    if (problem) problems.push(problem);
  }
  return problems;
}

function artifactProblem(name: string, report: ArtifactReport | undefined): string | undefined {
  if (!report?.exists)
    return `required artifact "${name}" (${report?.path ?? 'path unknown'}) was not written`;
  if (!report.fresh) {
    return `required artifact "${name}" (${report.path}) was not written by this attempt (it is left over from an earlier one); write it again`;
  }
  if (!report.valid) return `required artifact "${name}" (${report.path}) is invalid: ${report.error}`;
  return undefined;
}

/** The harness run; a rate-limited one sleeps until the provider's reset time and runs again. */
async function runAgentWithParking(
  ctx: RunContext,
  request: Parameters<InterpreterActivities['runAgentStep']>[0],
  summary: string,
  timeoutMs: number,
): Promise<AgentStepResult> {
  for (;;) {
    try {
      return await agentActivities.runAgentStep.executeWithOptions(
        {
          startToCloseTimeout: timeoutMs,
          heartbeatTimeout: ctx.input.options?.agentHeartbeatTimeoutMs ?? 60_000,
          retry: { maximumAttempts: 3, nonRetryableErrorTypes: [RATE_LIMITED, 'SopConfigError'] },
          summary,
        },
        [request],
      );
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === RATE_LIMITED) {
        const details = cause.details?.[0] as RateLimitDetails | undefined;
        const waitMs = Math.max(1_000, (details?.resetAtMs ?? Date.now() + 60_000) - Date.now());
        log.warn(`${summary}: rate limited (${details?.message ?? cause.message}); parked for ${waitMs} ms`);
        await sleep(waitMs, { summary: `rate limit: resume ${summary}` } as never);
        continue;
      }
      if (cause instanceof ApplicationFailure || (cause && !isCancellation(err))) {
        fail(`${summary}: ${cause.message}`);
      }
      throw err;
    }
  }
}
