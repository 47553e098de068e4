// The SOP interpreter: one workflow execution per run, registered as the bundle's default export so the
// workflow type is the SOP's own name. Deterministic: it reads only its input, activity results and
// messages; every effect (harness runs, commands, files) is an activity.
// This file: the start of an execution (fresh, continued or restarted), threads of steps (routes and
// `after:`), the end of the run and continue-as-new. The other files hold one concern each.
import {
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  ContinueAsNew,
  condition,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  workflowInfo,
} from '@temporalio/workflow';
import type { RouteTarget } from '../../shapes/execution-plan';
import type { RunInput, RunResult } from '../../shapes/run';
import { downstreamOf } from '../restart';
import { countStepStart } from './budgets';
import { decideChildRuns, failureDetails } from './children';
import { runAccepted } from './commits';
import { deliveryKey, describeFailure, fail, type RunContext, RunFailed, stringify } from './context';
import { createContext } from './create-context';
import { DELIVERIES_PATCH, deliverAgentRequests, deliverAt } from './deliveries';
import { emitOnFinish, settleEmits, takeRoute } from './emits';
import { installHandlers } from './handlers';
import { agentQuestionOf, requestInput, routeAnswer } from './input';
import { settleQuotas } from './quotas';
import { runStep } from './steps';
import { clearCurrentStep, setStatus, showCurrentStep, showRunning } from './visibility';
import { runWorklistStep, worklistRequestOf } from './worklists';
import { decideParallelWorktrees } from './worktrees';

const RUN_SUMMARY_PATCH = 'run-summary-v1';
// Before this patch a restarted run that continued as new ran its restart again in the next execution.
const RESUME_BEFORE_RESTART_PATCH = 'resume-before-restart-v1';
const ANY_FAILURE_PATCH = 'any-failure-is-run-failure-v1';
const RECENT_STEPS_KEPT = 50;

export async function sopInterpreter(input: RunInput): Promise<RunResult> {
  const ctx = createContext(input);
  // decided first thing in every execution (never after a local activity: see patches.ts)
  if (input.plan.deliver && ctx.isPatched(DELIVERIES_PATCH)) ctx.deliver = input.plan.deliver;
  decideParallelWorktrees(ctx);
  decideChildRuns(ctx);
  const { plan, state } = ctx;
  installHandlers(ctx);
  const threads = new Threads(ctx);

  showRunning(ctx);
  // ends with the run: a cancelled run cancels its timer, which is not an error here
  if (ctx.engine >= 2) void showCurrentStep(ctx).catch(() => undefined);
  try {
    const restart =
      input.restart && !(input.resume && ctx.isPatched(RESUME_BEFORE_RESTART_PATCH))
        ? input.restart
        : undefined;
    if (restart) {
      const rerunStep = restart.rerun && ctx.stepsByName.get(restart.rerun.step);
      if (rerunStep?.forEach) {
        const { reopened } = await ctx.files
          .reopenWorklistItems({
            ...worklistRequestOf(ctx, rerunStep),
            itemIds: restart.rerun?.items,
          })
          .catch((err) => fail(`rerun of ${rerunStep.name}: ${describeFailure(err)}`));
        log.info(`rerun of ${rerunStep.name}: items ${reopened.join(', ')} set back to pending`);
      }
      for (const step of restartFrom(ctx, restart)) threads.start(step);
    } else {
      const first = input.resume?.at ?? plan.steps[0].name;
      if (input.resume) state.started = state.started.filter((s) => s !== first);
      threads.start(first);
    }
    await condition(() => ctx.activeThreads === 0 || threads.errors.length > 0);
    if (threads.errors.length > 0) await condition(() => ctx.activeThreads === 0);
    const error = threads.errors.find((e) => e instanceof RunFailed) ?? threads.errors[0];
    if (error) throw error;
    if (ctx.continueAt) {
      await settleEmits(ctx);
      await condition(allHandlersFinished);
      const continueAsNew = makeContinueAsNewFunc<typeof sopInterpreter>({
        typedSearchAttributes: workflowInfo().typedSearchAttributes,
      });
      await continueAsNew({ ...input, restart: undefined, resume: { state, at: ctx.continueAt } });
    }
    emitOnFinish(ctx);
    await settleEmits(ctx);
    await deliverAt(ctx, { kind: 'end' });
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        clearCurrentStep(ctx);
        setStatus(ctx, 'cancelled');
        await stampRunSummary(ctx, 'cancelled');
        await settleQuotas(ctx);
      });
      throw err;
    }
    // Before the patch any other error failed the workflow as it was: status left at running, no run.json.
    if (err instanceof RunFailed || (!(err instanceof ContinueAsNew) && ctx.isPatched(ANY_FAILURE_PATCH))) {
      ctx.failure = err instanceof RunFailed ? err.message : describeFailure(err);
      // `on: failure` deliveries; one that fails too is added to the run's failure, never hidden
      const undelivered = await deliverAt(ctx, { kind: 'failure' }, true);
      if (undelivered.length > 0) ctx.failure = `${ctx.failure}; ${undelivered.join('; ')}`;
      clearCurrentStep(ctx);
      setStatus(ctx, 'failed');
      await stampRunSummary(ctx, 'failed', ctx.failure);
      throw ApplicationFailure.create({
        type: 'SopRunFailed',
        message: ctx.failure,
        nonRetryable: true,
        // a child run of a `kind: sop` step: what it used, for its parent's totals and budgets
        details: failureDetails(ctx),
      });
    }
    throw err;
  }
  clearCurrentStep(ctx);
  setStatus(ctx, 'completed');
  await stampRunSummary(ctx, 'completed');
  await condition(allHandlersFinished);
  return {
    status: 'completed',
    routesTaken: state.routesTaken,
    usage: state.usage,
    outputs: state.outputs,
    deniedCalls: state.deniedCalls,
    denials: state.denials,
    ...(state.mcpCalls ? { mcpCalls: state.mcpCalls } : {}),
    ...(state.relaunches ? { relaunches: state.relaunches } : {}),
    answers: state.answers,
    ...(state.reviews?.length ? { reviews: state.reviews } : {}),
    ...(ctx.fleet ? { placement: ctx.fleet.placement } : {}),
    ...(state.childUsage ? { childUsage: state.childUsage } : {}),
    ...(state.forge ? { forge: state.forge } : {}),
  };
}

/** Threads: a chain of steps following routes; `after:` dependencies start new ones. */
class Threads {
  readonly errors: unknown[] = [];
  private readonly scope = new CancellationScope();
  constructor(private readonly ctx: RunContext) {}

  start(step: string): void {
    const { state } = this.ctx;
    if (!state.started.includes(step)) state.started.push(step);
    void this.scope
      .run(() => this.run(step))
      .catch((err) => {
        this.errors.push(err);
        if (!(err instanceof RunFailed) || this.errors.length === 1) this.scope.cancel();
      });
  }

  private startReadySteps(): void {
    const { plan, state } = this.ctx;
    for (const step of plan.steps) {
      if (step.after.length === 0 || state.started.includes(step.name)) continue;
      if (step.after.every((dep) => state.done.includes(dep))) this.start(step.name);
    }
  }

  private async run(first: string): Promise<void> {
    const { ctx } = this;
    const { state } = ctx;
    ctx.activeThreads++;
    // the steps this thread started last, to name a cycle when max_steps ends the run
    const recent: string[] = [];
    try {
      let next: RouteTarget = { kind: 'step', step: first };
      while (next.kind === 'step') {
        const step = ctx.stepsByName.get(next.step)!;
        recent.push(step.name);
        if (recent.length > RECENT_STEPS_KEPT) recent.shift();
        const tooMany = countStepStart(ctx, recent);
        if (tooMany) fail(tooMany);
        if (!state.started.includes(step.name)) state.started.push(step.name);
        let target: RouteTarget;
        let payload: unknown;
        if (step.forEach) {
          target = await runWorklistStep(ctx, step);
          if (ctx.continueAt) return;
        } else {
          const end = await runAccepted(ctx, { step: step.name }, () => runStep(ctx, step, undefined));
          takeRoute(ctx, step.name, end.route, end.target, undefined, end.payload);
          state.outputs[step.name] = { route: end.route, payload: end.payload };
          target = end.target;
          payload = end.payload;
          if (ctx.deliver) {
            await deliverAgentRequests(ctx, step.name, undefined, end.payload);
            await deliverAt(ctx, { kind: 'route', step: step.name, route: end.route });
          }
        }
        if (target.kind === 'request_input') {
          const agent = agentQuestionOf(ctx, target.request, payload);
          const result = await requestInput(ctx, step, undefined, target.request, 0, agent);
          if (!result.answered)
            target = target.request.onTimeout ?? {
              kind: 'fail',
              reason: 'no answer before the input timeout',
            };
          else if (target.request.routes) {
            const request = target.request;
            const routed = await routeAnswer(ctx, step, undefined, request, result, request.routes ?? []);
            takeRoute(ctx, step.name, routed.route, routed.target);
            target = routed.target;
          } else {
            await routeAnswer(ctx, step, undefined, target.request, result, []);
            state.deliveries[deliveryKey(step.name)] = [
              ...(agent ? [`You asked a person: "${agent.question}"`] : []),
              'A person answered:',
              stringify(result.value),
            ];
            target = { kind: 'step', step: step.name };
            continue;
          }
        }
        if (target.kind === 'fail') fail(target.reason ?? `step ${step.name} routed to fail`);
        if (!state.done.includes(step.name)) state.done.push(step.name);
        this.startReadySteps();
        next = target;
      }
    } finally {
      ctx.activeThreads--;
    }
  }
}

/** Prepares the carried-over state of a restarted task; returns the steps to start. */
function restartFrom(ctx: RunContext, restart: NonNullable<RunInput['restart']>): string[] {
  const { plan, state } = ctx;
  state.startedAtMs = Date.now();
  state.stepsStarted = 0;
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

/** run.json gets the final status; runs started before this existed do not (their histories replay). */
async function stampRunSummary(ctx: RunContext, end: 'completed' | 'failed' | 'cancelled', why?: string) {
  if (!ctx.isPatched(RUN_SUMMARY_PATCH)) return;
  const { run, state } = ctx;
  try {
    await ctx.files.finishRun({
      run,
      end: {
        status: end,
        failure: why,
        routesTaken: state.routesTaken,
        usage: state.usage,
        deniedCalls: state.deniedCalls,
        denials: state.denials,
        ...(state.mcpCalls ? { mcpCalls: state.mcpCalls } : {}),
        ...(state.childUsage ? { childUsage: state.childUsage } : {}),
        ...(state.forge ? { forge: state.forge } : {}),
      },
      ...(ctx.unrecordedLosses.size > 0 ? { lostLaunches: [...ctx.unrecordedLosses.values()].flat() } : {}),
    });
  } catch (e) {
    log.warn(`run.json could not be stamped: ${(e as Error).message}`);
  }
}
