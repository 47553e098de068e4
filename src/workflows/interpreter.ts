// The SOP interpreter: one workflow execution per run, registered as the bundle's default export so the
// workflow type is the SOP's own name. Deterministic: it reads only its input, activity results and
// messages; every effect (harness runs, commands, files) is an activity.
import { Validator } from '@cfworker/json-schema';
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  ContinueAsNew,
  condition,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  AgentStepResult,
  ArtifactReport,
  PromptContext,
  Role,
  RunRef,
  Usage,
  WorkItem,
  WorklistWindow,
} from '../activities/contract';
import { RATE_LIMITED, type RateLimitDetails } from '../activities/contract';
import type { InterpreterActivities } from '../activities/interpreter-activities';
import { SopStatus, SopStep } from '../temporal/search-attributes';
import {
  type AnswerInput,
  answerSignal,
  answerUpdate,
  checkpointQuery,
  messageSignal,
  type PendingInput,
  type RouteTaken,
  type RunStatus,
  type RunStatusView,
  statusQuery,
} from './messages';
import type { ExecutionPlan, InputRequestSpec, RoleSpec, RouteSpec, RouteTarget, StepSpec } from './plan';
import { renderText } from './render-text';
import { downstreamOf } from './restart';

export interface RunOptions {
  /** continue-as-new when history grows past this many events (also when the server suggests it) */
  continueAsNewAfterEvents?: number;
  /** a harness activity silent for this long is presumed dead (its worker crashed) and retried */
  agentHeartbeatTimeoutMs?: number;
}

export interface RunInput {
  plan: ExecutionPlan;
  run: RunRef;
  input: Record<string, unknown>;
  params: Record<string, unknown>;
  /** a short description of the request, for summaries */
  request?: string;
  options?: RunOptions;
  /** history layout the run started with (engine-version.ts); absent in runs started before it existed */
  engine?: number;
  /** set by continue-as-new: the state so far and the step to resume at */
  resume?: { state: RunState; at: string };
  /**
   * set by `sop resume` / `sop rerun`: a new execution of a finished task, from the state its last
   * execution reached. resume: the steps that were in progress run again; rerun: `step` and everything
   * downstream of it run again, with `context` in the step's next prompt.
   */
  restart?: { state: RunState; steps: string[]; rerun?: Rerun };
}

/** Re-run `step` and what follows it; for a worklist step, `items` (all of them when absent) again. */
export interface Rerun {
  step: string;
  context?: string;
  items?: string[];
}

/** What `sop resume` / `sop rerun` need from an execution (the checkpoint query). */
export interface RunCheckpoint {
  input: Omit<RunInput, 'resume' | 'restart'>;
  state: RunState;
  /** steps started and not finished: where a resumed run picks up */
  inProgress: string[];
  status: RunStatus;
}

export interface RunResult {
  status: 'completed';
  routesTaken: RouteTaken[];
  usage: Usage & { agentRuns: number };
  outputs: Record<string, { route: string; payload: unknown }>;
}

export interface RunState {
  startedAtMs: number;
  usage: Usage & { agentRuns: number };
  routesTaken: RouteTaken[];
  routesTakenCount: number;
  outputs: Record<string, { route: string; payload: unknown }>;
  done: string[];
  started: string[];
  /** worklist step -> items done and in all, as last read from the worklist file */
  worklists: Record<string, { done: number; total: number }>;
  executions: number;
  pendingMessages: string[];
  /** answers waiting to be delivered into the next prompt of the step (and item) that asked */
  deliveries: Record<string, string[]>;
}

const ROUTES_KEPT = 200;
const WORKLIST_WINDOW_PATCH = 'worklist-window-v1';
const DEFAULT_CONTINUE_AS_NEW_AFTER = 8_000;

const {
  loadWorklist,
  completeWorklistItem,
  loadWorklistWindow,
  completeWorklistItemWindow,
  reopenWorklistItems,
} = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});
const { finishRun } = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});
// The quick file updates: regular activities in engine 1, local ones in engine 2 (one marker event each,
// no task round trip through the server).
const fileUpdates = {
  1: { loadWorklistWindow, completeWorklistItemWindow, reopenWorklistItems, finishRun },
  2: proxyLocalActivities<InterpreterActivities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5 },
  }),
};
const RUN_SUMMARY_PATCH = 'run-summary-v1';
// Before this patch a restarted run that continued as new ran its restart again in the next execution.
const RESUME_BEFORE_RESTART_PATCH = 'resume-before-restart-v1';
const ANY_FAILURE_PATCH = 'any-failure-is-run-failure-v1';
const STEP_ATTRIBUTE_DELAY_MS = 2_000;
const { runCommandStep } = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '2 hours',
  retry: { maximumAttempts: 3 },
});
const agentActivities = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [RATE_LIMITED, 'SopConfigError'] },
});

class RunFailed extends Error {}

export async function sopInterpreter(input: RunInput): Promise<RunResult> {
  const { plan, run } = input;
  const engine = input.engine ?? 1;
  // engine 2 has every change gated by these patches built in (engine-version.ts)
  const isPatched = (id: string) => engine >= 2 || patched(id);
  const files = engine >= 2 ? fileUpdates[2] : fileUpdates[1];
  const stepsByName = new Map(plan.steps.map((s) => [s.name, s]));
  const state: RunState = input.resume?.state ??
    input.restart?.state ?? {
      startedAtMs: Date.now(),
      usage: { inputTokens: 0, outputTokens: 0, costUsd: 0, agentRuns: 0 },
      routesTaken: [],
      routesTakenCount: 0,
      outputs: {},
      done: [],
      started: [],
      worklists: {},
      executions: 0,
      pendingMessages: [],
      deliveries: {},
    };
  // state carried by continue-as-new from an older interpreter may lack newer fields
  state.worklists ??= {};
  let status: RunStatus = 'running';
  let failure: string | undefined;
  let pending: (PendingInput & { validator: Validator }) | undefined;
  let answer: AnswerInput | undefined;
  const active = new Map<string, { step: string; item?: string; role?: string; attempt?: number }>();
  let activeThreads = 0;
  let continueAt: string | undefined;

  // ---- messages -------------------------------------------------------------------------------------
  const answerProblem = (value: AnswerInput): string | undefined => {
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
  };
  setHandler(
    answerUpdate,
    (value) => {
      answer = value;
      return { accepted: true as const };
    },
    {
      validator: (value) => {
        const problem = answerProblem(value);
        if (problem) throw ApplicationFailure.create({ type: 'InvalidAnswer', message: problem });
      },
      description: 'Answer the pending input request (validated against its schema)',
    },
  );
  setHandler(answerSignal, (value) => {
    const problem = answerProblem(value);
    if (problem) log.warn(`ignored answer signal: ${problem}`);
    else answer = value;
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
      status,
    };
  });
  setHandler(
    statusQuery,
    (): RunStatusView => ({
      sop: plan.sop,
      taskId: run.taskId,
      bundleHash: plan.bundleHash,
      status,
      active: [...active.values()],
      worklists: state.worklists,
      routesTaken: state.routesTaken,
      routesTakenCount: state.routesTakenCount,
      pendingInput: pending
        ? {
            requestId: pending.requestId,
            step: pending.step,
            item: pending.item,
            question: pending.question,
            schema: pending.schema,
          }
        : undefined,
      usage: state.usage,
      failure,
    }),
  );

  // ---- helpers --------------------------------------------------------------------------------------
  /** What the Web UI shows as the run's current details (not history: it may change freely). */
  const refreshDetails = () => {
    const now = [...active.values()].map((a) =>
      [a.step, a.item, a.role, a.attempt && `attempt ${a.attempt}`].filter(Boolean).join(' · '),
    );
    const lines = [`**${plan.sop}** · ${status}`];
    if (now.length) lines.push(`Now: ${now.join('; ')}`);
    if (pending) lines.push(`Waiting for input \`${pending.requestId}\`: ${pending.question}`);
    lines.push(
      `Routes taken: ${state.routesTakenCount} · agent runs: ${state.usage.agentRuns} · cost: $${state.usage.costUsd.toFixed(4)}`,
    );
    setCurrentDetails(lines.join('\n\n'));
  };
  const setStatus = (next: RunStatus) => {
    if (status === next) return;
    status = next;
    upsertSearchAttributes([{ key: SopStatus, value: next }]);
    refreshDetails();
  };
  let lastStepAttr: string | undefined;
  let wantedStep: string | undefined;
  const setCurrentStep = (step: string) => {
    wantedStep = step;
    if (engine >= 2 || lastStepAttr === step) return;
    lastStepAttr = step;
    upsertSearchAttributes([{ key: SopStep, value: step }]);
  };
  // Engine 2: SopStep shows a step once it has been current for STEP_ATTRIBUTE_DELAY_MS. Each upsert is
  // a visibility write (the dev server's bottleneck under load); steps quicker than that are not worth one.
  async function showCurrentStep(): Promise<void> {
    for (;;) {
      await condition(() => wantedStep !== lastStepAttr);
      const candidate = wantedStep;
      const moved = await condition(() => wantedStep !== candidate, STEP_ATTRIBUTE_DELAY_MS);
      if (!moved && candidate !== undefined) {
        lastStepAttr = candidate;
        upsertSearchAttributes([{ key: SopStep, value: candidate }]);
      }
    }
  }
  const describeTarget = (t: RouteTarget): string =>
    t.kind === 'step' ? t.step : t.kind === 'advance' ? 'next item' : t.kind;
  const recordRoute = (step: string, route: string, target: RouteTarget, item?: string) => {
    state.routesTaken.push({ step, item, route, target: describeTarget(target) });
    if (state.routesTaken.length > ROUTES_KEPT) state.routesTaken.shift();
    state.routesTakenCount++;
  };
  const fail = (message: string): never => {
    throw new RunFailed(message);
  };
  const deliveryKey = (step: string, item?: string) => (item ? `${step}#${item}` : step);

  const budgetProblem = (): string | undefined => {
    const b = plan.budgets;
    const u = state.usage;
    if (b.maxUsd !== undefined && u.costUsd >= b.maxUsd) {
      return `budget max_usd (${b.maxUsd}) reached: ${u.costUsd.toFixed(4)} USD spent`;
    }
    if (b.maxTokens !== undefined && u.inputTokens + u.outputTokens >= b.maxTokens) {
      return `budget max_tokens (${b.maxTokens}) reached: ${u.inputTokens + u.outputTokens} tokens used`;
    }
    if (b.maxAgentRuns !== undefined && u.agentRuns >= b.maxAgentRuns) {
      return `budget max_agent_runs (${b.maxAgentRuns}) reached`;
    }
    if (b.maxWallClockMs !== undefined && Date.now() - state.startedAtMs >= b.maxWallClockMs) {
      return `budget max_wall_clock (${b.maxWallClockMs} ms) reached`;
    }
    return undefined;
  };

  const promptContext = (
    step: StepSpec,
    item: WorkItem | undefined,
    rework: number,
    attempt: number,
  ): PromptContext => ({
    input: input.input,
    params: input.params,
    item: item ? { ...item, key: item.id } : undefined,
    steps: state.outputs,
    step: { name: step.name, rework, attempt },
  });

  // ---- one role (agent, producer or verifier) with agent-protocol retries ---------------------------
  type RoleOutcome =
    | { ok: true; route: string; payload: unknown; written: Record<string, string> }
    | { ok: false; problem: string };

  async function runRole(
    step: StepSpec,
    role: Role,
    spec: RoleSpec,
    item: WorkItem | undefined,
    rework: number,
    feedbackIn: string[],
    writtenThisIteration: Record<string, string> = {},
  ): Promise<RoleOutcome> {
    const routes: RouteSpec[] =
      role === 'producer'
        ? [{ name: 'done', target: { kind: 'finish' }, requires: spec.writes }]
        : step.routes;
    const artifactNames = new Set([...spec.writes, ...routes.flatMap((r) => r.requires)]);
    const artifacts = plan.artifacts.filter((a) => artifactNames.has(a.name));
    let feedback = feedbackIn;
    let lastProblem = '';
    const key = `${step.name}#${item?.id ?? ''}#${role}`;
    for (let attempt = 1; attempt <= step.maxAttempts; attempt++) {
      const budget = budgetProblem();
      if (budget) fail(`${budget} before ${step.name}${item ? ` (${item.id})` : ''} could start`);
      const messages = state.pendingMessages.splice(0).map((m) => `Message from the operator: ${m}`);
      active.set(key, { step: step.name, item: item?.id, role, attempt });
      setCurrentStep(step.name);
      refreshDetails();
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
        context: promptContext(step, item, rework, attempt),
        feedback: [...feedback, ...messages],
        timeoutMs: step.timeoutMs,
      };
      const summary = [step.name, item?.id, role, `attempt ${attempt}`, spec.provider]
        .filter(Boolean)
        .join(' · ');
      let result: AgentStepResult;
      try {
        result = await runAgentWithParking(request, summary, step.timeoutMs);
      } finally {
        active.delete(key);
      }
      refreshDetails();
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

  async function runAgentWithParking(
    request: Parameters<InterpreterActivities['runAgentStep']>[0],
    summary: string,
    timeoutMs: number,
  ): Promise<AgentStepResult> {
    for (;;) {
      try {
        return await agentActivities.runAgentStep.executeWithOptions(
          {
            startToCloseTimeout: timeoutMs,
            heartbeatTimeout: input.options?.agentHeartbeatTimeoutMs ?? 60_000,
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
          log.warn(
            `${summary}: rate limited (${details?.message ?? cause.message}); parked for ${waitMs} ms`,
          );
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

  // ---- human input ------------------------------------------------------------------------------------
  let requestCounter = 0;
  async function requestInput(
    step: StepSpec,
    item: WorkItem | undefined,
    request: InputRequestSpec,
    rework: number,
  ): Promise<{ answered: true; value: unknown } | { answered: false }> {
    requestCounter++;
    const question = renderText(request.question, {
      step: { name: step.name, rework },
      item: item ? { ...item, key: item.id } : undefined,
    });
    await condition(() => pending === undefined); // one pending request at a time
    pending = {
      requestId: `${step.name}${item ? `-${item.id}` : ''}-${requestCounter}`,
      step: step.name,
      item: item?.id,
      question,
      schema: request.schema,
      validator: new Validator(request.schema as never, '2020-12', false),
    };
    answer = undefined;
    setStatus('waiting_input');
    let arrived = true;
    if (request.timeoutMs) arrived = await condition(() => answer !== undefined, request.timeoutMs);
    else await condition(() => answer !== undefined);
    const value = (answer as AnswerInput | undefined)?.value; // set by the handlers meanwhile
    pending = undefined;
    answer = undefined;
    setStatus('running');
    return arrived ? { answered: true, value } : { answered: false };
  }

  // ---- one step (for one item): rework loop, routes ---------------------------------------------------
  type StepEnd = { route: string; target: RouteTarget; payload: unknown };

  async function runStep(step: StepSpec, item: WorkItem | undefined): Promise<StepEnd> {
    if (step.kind === 'command') return runCommand(step);
    if (step.kind === 'input') {
      const result = await requestInput(step, item, step.input!, 0);
      if (!result.answered) {
        return {
          route: 'timed_out',
          target: step.input?.onTimeout ?? { kind: 'fail', reason: 'input timed out' },
          payload: null,
        };
      }
      const route = step.routes.find((r) => r.name === 'answered') ?? step.routes[0];
      return { route: route.name, target: route.target, payload: result.value };
    }

    let rework = 0;
    let feedback: string[] = [];
    for (;;) {
      const key = deliveryKey(step.name, item?.id);
      feedback.push(...(state.deliveries[key] ?? []));
      delete state.deliveries[key];
      let outcome: RoleOutcome;
      if (step.kind === 'produce_verify') {
        const produced = await runRole(step, 'producer', step.producer!, item, rework, feedback);
        if (!produced.ok) return failurePath(step, produced.problem);
        outcome = await runRole(step, 'verifier', step.verifier!, item, rework, [], produced.written);
      } else {
        outcome = await runRole(step, 'agent', step.agent!, item, rework, feedback);
      }
      if (!outcome.ok) return failurePath(step, outcome.problem);
      const route = step.routes.find((r) => r.name === outcome.route)!;
      const isRework = route.target.kind === 'step' && route.target.step === step.name;
      if (!isRework) return { route: route.name, target: route.target, payload: outcome.payload };

      recordRoute(step.name, route.name, route.target, item?.id);
      rework++;
      feedback = [
        `The verifier sent the work back (rework ${rework} of ${step.maxRework}). Findings:`,
        stringify(outcome.payload),
      ];
      if (rework <= step.maxRework) continue;

      const exhausted = step.onReworkExhausted;
      if (exhausted.kind !== 'request_input') {
        return { route: 'rework_exhausted', target: exhausted, payload: outcome.payload };
      }
      const result = await requestInput(step, item, exhausted.request, rework);
      if (!result.answered) {
        return {
          route: 'rework_exhausted',
          target: exhausted.request.onTimeout ?? {
            kind: 'fail',
            reason: 'no answer before the input timeout',
          },
          payload: null,
        };
      }
      const value = result.value as { approve?: unknown } | null;
      const accepted = step.routes.find((r) => r.name === 'accepted');
      if (value && typeof value === 'object' && value.approve === true && accepted) {
        return {
          route: 'accepted',
          target: accepted.target,
          payload: { approvedBy: 'human', answer: value },
        };
      }
      rework = 0;
      feedback = [`A person answered after ${step.maxRework} rejected attempts:`, stringify(result.value)];
    }
  }

  function failurePath(step: StepSpec, problem: string): StepEnd {
    const target: RouteTarget =
      step.onFailure.kind === 'fail' ? { kind: 'fail', reason: `${step.name}: ${problem}` } : step.onFailure;
    return { route: 'failed', target, payload: { problem } };
  }

  async function runCommand(step: StepSpec): Promise<StepEnd> {
    state.executions++;
    setCurrentStep(step.name);
    active.set(step.name, { step: step.name, role: 'command' });
    let result: Awaited<ReturnType<InterpreterActivities['runCommandStep']>>;
    try {
      result = await runCommandStep.executeWithOptions(
        {
          startToCloseTimeout: step.command!.timeoutMs + 60_000,
          retry: { maximumAttempts: 3 },
          summary: `${step.name} · command`,
        },
        [
          {
            run,
            step: step.name,
            execution: state.executions,
            command: step.command!.run,
            timeoutMs: step.command!.timeoutMs,
          },
        ],
      );
    } finally {
      active.delete(step.name);
    }
    const routeName = result.exitCode === 0 && !result.timedOut ? 'passed' : 'failed';
    const route = step.routes.find((r) => r.name === routeName);
    const payload = {
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      outputFile: result.outputFile,
      tail: result.tail,
    };
    if (!route) {
      return {
        route: routeName,
        target: {
          kind: 'fail',
          reason: `${step.name}: command ${routeName} (exit ${result.exitCode}) and the step has no "${routeName}" route`,
        },
        payload,
      };
    }
    // the next agent prompt sees the command's output
    if (route.target.kind === 'step') {
      state.deliveries[deliveryKey(route.target.step)] = [
        `The command \`${step.command!.run}\` (step ${step.name}) exited ${result.exitCode}${result.timedOut ? ' (timed out)' : ''}. Last lines of its output (${result.outputFile}):`,
        result.tail,
      ];
    }
    return { route: routeName, target: route.target, payload };
  }

  // ---- worklists --------------------------------------------------------------------------------------
  function worklistRequestOf(step: StepSpec) {
    const spec = plan.worklists.find((w) => w.name === step.forEach!.worklist)!;
    const from = plan.artifacts.find((a) => a.name === spec.from)!;
    return {
      run,
      worklist: { from, collection: spec.collection, id: spec.id, title: spec.title, status: spec.status },
    };
  }

  async function runWorklistStep(step: StepSpec): Promise<RouteTarget> {
    const worklistRequest = worklistRequestOf(step);
    const advance = step.routes.find((r) => r.target.kind === 'advance')?.target;
    let exhausted: RouteTarget = advance?.kind === 'advance' ? advance.exhausted : { kind: 'finish' };
    const inFlight = new Set<string>();
    const limit = Math.max(16, 2 * step.forEach!.concurrency);
    // Runs started before this patch read and wrote the whole item list on every item, which made history
    // grow with the square of the list; they keep doing so until they finish.
    const windowed = isPatched(WORKLIST_WINDOW_PATCH);
    const fromList = (list: WorkItem[]): WorklistWindow => ({
      pending: list.filter((i) => i.status !== 'done'),
      done: list.filter((i) => i.status === 'done').length,
      total: list.length,
    });
    const readItems = async () =>
      windowed
        ? files.loadWorklistWindow({ ...worklistRequest, exclude: [...inFlight], limit })
        : fromList(await loadWorklist(worklistRequest));
    const completeItem = async (itemId: string) =>
      windowed
        ? files.completeWorklistItemWindow({
            ...worklistRequest,
            itemId,
            status: 'done',
            exclude: [...inFlight].filter((id) => id !== itemId),
            limit,
          })
        : fromList(await completeWorklistItem({ ...worklistRequest, itemId, status: 'done' }));

    let items = await readItems();
    let leave: RouteTarget | undefined;
    let writing = Promise.resolve();
    const track = () => {
      state.worklists[step.name] = { done: items.done, total: items.total };
    };

    const nextPending = () => items.pending.find((i) => !inFlight.has(i.id));
    const runItem = async (item: WorkItem) => {
      inFlight.add(item.id);
      try {
        const end = await runStep(step, item);
        recordRoute(step.name, end.route, end.target, item.id);
        if (end.target.kind === 'advance') {
          exhausted = end.target.exhausted;
          // one status write at a time: the worklist file is shared by concurrent items
          const write = writing.then(async () => {
            items = await completeItem(item.id);
            track();
          });
          writing = write;
          await write;
        } else {
          leave ??= end.target;
        }
      } finally {
        inFlight.delete(item.id);
      }
    };

    const concurrency = Math.max(1, step.forEach!.concurrency);
    track();
    for (;;) {
      if (leave) break;
      const item = nextPending();
      if (!item) {
        if (inFlight.size === 0) break;
        await condition(() => inFlight.size === 0 || nextPending() !== undefined || leave !== undefined);
        continue;
      }
      if (inFlight.size >= concurrency) {
        await condition(() => inFlight.size < concurrency);
        continue;
      }
      if (concurrency === 1) {
        await runItem(item);
        if (shouldContinueAsNew()) {
          continueAt = step.name;
          return { kind: 'finish' };
        }
      } else {
        void runItem(item).catch((err) => {
          leave ??= { kind: 'fail', reason: err instanceof Error ? err.message : String(err) };
        });
      }
    }
    await condition(() => inFlight.size === 0);
    return leave ?? exhausted;
  }

  function shouldContinueAsNew(): boolean {
    if (activeThreads > 1) return false;
    const info = workflowInfo();
    const limit = input.options?.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER;
    return info.continueAsNewSuggested || info.historyLength >= limit;
  }

  // ---- threads: a chain of steps following routes; `after:` dependencies start new ones --------------
  async function runThread(first: string): Promise<void> {
    activeThreads++;
    try {
      let next: RouteTarget = { kind: 'step', step: first };
      while (next.kind === 'step') {
        const step = stepsByName.get(next.step)!;
        if (!state.started.includes(step.name)) state.started.push(step.name);
        let target: RouteTarget;
        if (step.forEach) {
          target = await runWorklistStep(step);
          if (continueAt) return;
        } else {
          const end = await runStep(step, undefined);
          recordRoute(step.name, end.route, end.target);
          state.outputs[step.name] = { route: end.route, payload: end.payload };
          target = end.target;
        }
        if (target.kind === 'request_input') {
          const result = await requestInput(step, undefined, target.request, 0);
          if (!result.answered)
            target = target.request.onTimeout ?? {
              kind: 'fail',
              reason: 'no answer before the input timeout',
            };
          else {
            state.deliveries[deliveryKey(step.name)] = ['A person answered:', stringify(result.value)];
            target = { kind: 'step', step: step.name };
            continue;
          }
        }
        if (target.kind === 'fail') fail(target.reason ?? `step ${step.name} routed to fail`);
        if (!state.done.includes(step.name)) state.done.push(step.name);
        startReadySteps();
        next = target;
      }
    } finally {
      activeThreads--;
    }
  }

  /** Prepares the carried-over state of a restarted task; returns the steps to start. */
  function restartFrom(restart: NonNullable<RunInput['restart']>): string[] {
    state.startedAtMs = Date.now();
    state.pendingMessages ??= [];
    state.deliveries ??= {};
    let starts = restart.steps;
    if (restart.rerun) {
      const again = new Set(downstreamOf(plan, restart.rerun.step));
      state.done = state.done.filter((s) => !again.has(s));
      for (const s of again) delete state.outputs[s];
      if (restart.rerun.context)
        state.deliveries[deliveryKey(restart.rerun.step)] = [
          'This step is being re-run. Extra instructions from the person who asked:',
          restart.rerun.context,
        ];
      starts = [restart.rerun.step];
    }
    state.started = [...state.done];
    return starts.length > 0 ? starts : [plan.steps[0].name];
  }

  const threadErrors: unknown[] = [];
  const scope = new CancellationScope();
  function startThread(step: string) {
    if (!state.started.includes(step)) state.started.push(step);
    void scope
      .run(() => runThread(step))
      .catch((err) => {
        threadErrors.push(err);
        if (!(err instanceof RunFailed) || threadErrors.length === 1) scope.cancel();
      });
  }
  function startReadySteps() {
    for (const step of plan.steps) {
      if (step.after.length === 0 || state.started.includes(step.name)) continue;
      if (step.after.every((dep) => state.done.includes(dep))) startThread(step.name);
    }
  }

  // ---- the run ----------------------------------------------------------------------------------------
  // engine 2: no upsert when the run was started (or continued) with the status already set
  if (engine < 2 || workflowInfo().typedSearchAttributes.get(SopStatus) !== 'running') {
    upsertSearchAttributes([{ key: SopStatus, value: 'running' }]);
  }
  // ends with the run: a cancelled run cancels its timer, which is not an error here
  if (engine >= 2) void showCurrentStep().catch(() => undefined);
  try {
    const restart =
      input.restart && !(input.resume && isPatched(RESUME_BEFORE_RESTART_PATCH)) ? input.restart : undefined;
    if (restart) {
      const rerunStep = restart.rerun && stepsByName.get(restart.rerun.step);
      if (rerunStep?.forEach) {
        const { reopened } = await files
          .reopenWorklistItems({
            ...worklistRequestOf(rerunStep),
            itemIds: restart.rerun?.items,
          })
          .catch((err) => fail(`rerun of ${rerunStep.name}: ${describeFailure(err)}`));
        log.info(`rerun of ${rerunStep.name}: items ${reopened.join(', ')} set back to pending`);
      }
      for (const step of restartFrom(restart)) startThread(step);
    } else {
      const first = input.resume?.at ?? plan.steps[0].name;
      if (input.resume) state.started = state.started.filter((s) => s !== first);
      startThread(first);
    }
    await condition(() => activeThreads === 0 || threadErrors.length > 0);
    if (threadErrors.length > 0) await condition(() => activeThreads === 0);
    const error = threadErrors.find((e) => e instanceof RunFailed) ?? threadErrors[0];
    if (error) throw error;
    if (continueAt) {
      await condition(allHandlersFinished);
      const continueAsNew = makeContinueAsNewFunc<typeof sopInterpreter>({
        typedSearchAttributes: workflowInfo().typedSearchAttributes,
      });
      await continueAsNew({ ...input, restart: undefined, resume: { state, at: continueAt } });
    }
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        setStatus('cancelled');
        await stampRunSummary('cancelled');
      });
      throw err;
    }
    // Before the patch any other error failed the workflow as it was: status left at running, no run.json.
    if (err instanceof RunFailed || (!(err instanceof ContinueAsNew) && isPatched(ANY_FAILURE_PATCH))) {
      failure = err instanceof RunFailed ? err.message : describeFailure(err);
      setStatus('failed');
      await stampRunSummary('failed', failure);
      throw ApplicationFailure.create({ type: 'SopRunFailed', message: failure, nonRetryable: true });
    }
    throw err;
  }
  setStatus('completed');
  await stampRunSummary('completed');
  await condition(allHandlersFinished);
  return { status: 'completed', routesTaken: state.routesTaken, usage: state.usage, outputs: state.outputs };

  /** run.json gets the final status; runs started before this existed do not (their histories replay). */
  async function stampRunSummary(end: 'completed' | 'failed' | 'cancelled', why?: string) {
    if (!isPatched(RUN_SUMMARY_PATCH)) return;
    try {
      await files.finishRun({
        run,
        end: { status: end, failure: why, routesTaken: state.routesTaken, usage: state.usage },
      });
    } catch (e) {
      log.warn(`run.json could not be stamped: ${(e as Error).message}`);
    }
  }
}

/** One line for a failure: the activity that failed and its own message, not the SDK's wrapper text. */
function describeFailure(err: unknown): string {
  if (err instanceof ActivityFailure) return `${err.activityType}: ${err.cause?.message ?? err.message}`;
  return err instanceof Error ? err.message : String(err);
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}
