// One harness launch of an agent execution, and what happens when it does not come back with an
// outcome. Three different causes, three budgets:
// - the worker is lost (heartbeat or start-to-close timeout, a worker that drains on shutdown): never
//   the step's fault; launched again after a backoff, counted against the run-wide max_worker_losses;
// - the harness launch fails (crash, hang, step timeout, model API error): the activity returns it as
//   a result; launched again up to the step's max_launch_failures, then the run fails;
// - the provider rate-limits: parked on a timer until its reset time, then launched again.
// Runs started before the worker-loss patch keep Temporal's activity retries (3 attempts for all).
import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  log,
  sleep,
  TimeoutFailure,
} from '@temporalio/workflow';
import {
  type AgentStepRequest,
  type AgentStepResult,
  type LostLaunch,
  RATE_LIMITED,
  type RateLimitDetails,
  WORKER_STOPPED,
} from '../../shapes/contract';
import { RELAUNCH_TIMER, WORKER_LOSS_PATCH } from '../../shapes/relaunch-ids';
import type { Relaunches } from '../../shapes/run';
import { moveWorkspace, onPlacement } from '../workspace';
import { agentActivities } from './activities';
import { budgetProblem } from './budgets';
import { activeKey, fail, type RunContext } from './context';
import { recordDenials } from './denials';
import { withQuotas } from './quotas';
import { refreshDetails } from './visibility';

const DEFAULT_MAX_WORKER_LOSSES = 50;
const DEFAULT_MAX_LAUNCH_FAILURES = 3;
const BACKOFF = { firstMs: 1_000, maxMs: 30_000 };
/** on top of the step timeout (enforced by the activity itself): the harness's kill grace, reporting back */
const START_TO_CLOSE_MARGIN_MS = 60_000;
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 60_000;

/** The result of the launch that came back with one (rate limits, lost workers and failures handled). */
export async function launchAgent(
  ctx: RunContext,
  request: AgentStepRequest,
  summary: string,
  /** for the activity's record of the verdict (shapes/protocol.ts) */
  verdictInputs: { writtenByProducer: Record<string, string>; ownedByProducer: string[] },
): Promise<AgentStepResult> {
  if (!ctx.isPatched(WORKER_LOSS_PATCH)) return launchWithTemporalRetries(ctx, request, summary);
  const { state, plan } = ctx;
  const step = ctx.stepsByName.get(request.step);
  const maxFailures = step?.maxLaunchFailures ?? DEFAULT_MAX_LAUNCH_FAILURES;
  const maxLosses = plan.budgets.maxWorkerLosses ?? DEFAULT_MAX_WORKER_LOSSES;
  const item = request.context.item?.id;
  const key = item ? `${request.step} [${item}]` : request.step;
  // lost launches not yet recorded: every launch that starts records the ones before it (a repo.url run
  // whose worker was lost runs the step again elsewhere: its launches record the ones lost before)
  let lost: LostLaunch[] = ctx.fleet ? [...(ctx.unrecordedLosses.get(key) ?? [])] : [];
  let failures = 0;
  let lossesInARow = 0;
  const trouble = (): Relaunches => {
    state.relaunches ??= {};
    state.relaunches[key] ??= { workerLosses: 0, launchFailures: 0, retrying: false };
    return state.relaunches[key];
  };
  const relaunchAfter = async (waitMs: number, why: string) => {
    trouble().retrying = true;
    await sleep(waitMs, {
      summary: `${RELAUNCH_TIMER} ${summary} in ${Math.round(waitMs / 1000)} s: ${why}`.slice(0, 400),
    } as never);
    const budget = budgetProblem(ctx);
    if (budget) fail(`${budget} before ${summary} could launch again`);
    state.executions++;
  };
  try {
    for (let launch = 1; ; launch++) {
      const execution = state.executions;
      const placement = ctx.fleet?.placement;
      let result: AgentStepResult;
      try {
        result = await withQuotas(ctx, request, summary, () =>
          runLaunch(ctx, request, summary, verdictInputs, { execution, launch, lost }),
        );
      } catch (err) {
        if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
        const cause = err.cause;
        // the launch recorded the lost ones before it if it ran: a launch that timed out before its first
        // heartbeat may never have run (its worker died as it took it), so they go to the next launch too
        // (a lost launch is recorded once, whichever launch gets to it)
        const recorded = !(
          cause instanceof TimeoutFailure &&
          (cause.timeoutType === 'SCHEDULE_TO_START' || cause.lastHeartbeatDetails === undefined)
        );
        if (recorded) {
          lost = [];
          ctx.unrecordedLosses.delete(key);
        }
        if (cause instanceof ApplicationFailure && cause.type === RATE_LIMITED) {
          state.usage.agentRuns++;
          const details = cause.details?.[0] as RateLimitDetails | undefined;
          const waitMs = Math.max(1_000, (details?.resetAtMs ?? Date.now() + 60_000) - Date.now());
          log.warn(
            `${summary}: rate limited (${details?.message ?? cause.message}); parked for ${waitMs} ms`,
          );
          await parkOnRateLimit(ctx, request, summary, waitMs);
          state.executions++;
          continue;
        }
        if (
          cause instanceof TimeoutFailure ||
          (cause instanceof ApplicationFailure && cause.type === WORKER_STOPPED)
        ) {
          const reason = cause instanceof TimeoutFailure ? `${timeoutName(cause)} timeout` : cause.message;
          state.workerLosses = (state.workerLosses ?? 0) + 1;
          state.usage.agentRuns++;
          trouble().workerLosses++;
          lost.push({
            step: request.step,
            item,
            role: request.role,
            provider: request.spec.provider,
            execution,
            attempt: request.attempt,
            launch,
            reason,
          });
          ctx.unrecordedLosses.set(key, lost);
          if (state.workerLosses > maxLosses) {
            fail(
              `${summary}: worker lost ${trouble().workerLosses} times in this step, ${state.workerLosses} in the run: more than max_worker_losses (${maxLosses}); last: ${reason}`,
            );
          }
          // a repo.url run's work in this step is gone with the worker: provisioned again from the last
          // pushed commit, the step runs again there (WorkspaceMoved)
          if (placement && ctx.fleet) await moveWorkspace(ctx.fleet, placement.queue, reason);
          lossesInARow++;
          log.warn(`${summary}: worker lost (${reason}); launching again`);
          await relaunchAfter(backoffMs(ctx, lossesInARow), `worker lost (${reason})`);
          continue;
        }
        if (cause instanceof ApplicationFailure && !cause.nonRetryable) {
          // an unexpected error in the activity itself: a failed launch like a harness crash
          result = launchFailed(request, cause.message);
        } else {
          return fail(`${summary}: ${cause?.message ?? err.message}`);
        }
      }
      lost = [];
      ctx.unrecordedLosses.delete(key);
      lossesInARow = 0;
      if (result.launchFailure === undefined) {
        if (state.relaunches?.[key]) state.relaunches[key].retrying = false;
        return result;
      }
      failures++;
      trouble().launchFailures++;
      state.usage.inputTokens += result.usage.inputTokens;
      state.usage.outputTokens += result.usage.outputTokens;
      state.usage.costUsd += result.usage.costUsd;
      state.usage.agentRuns++;
      recordDenials(ctx, result, { step: request.step, item, role: request.role });
      if (failures >= maxFailures) {
        fail(
          `${summary}: the harness launch failed ${failures} time(s) (max_launch_failures ${maxFailures}): ${result.launchFailure}`,
        );
      }
      log.warn(`${summary}: launch ${launch} failed: ${result.launchFailure}`);
      await relaunchAfter(backoffMs(ctx, failures), `launch failed: ${result.launchFailure}`);
    }
  } finally {
    // the run ends here (failed or cancelled): finishRun records what no launch did
    if (state.relaunches?.[key]) state.relaunches[key].retrying = false;
  }
}

/** One launch: the agent activity, with every failure back at once (the workflow relaunches). */
function runLaunch(
  ctx: RunContext,
  request: AgentStepRequest,
  summary: string,
  verdictInputs: { writtenByProducer: Record<string, string>; ownedByProducer: string[] },
  { execution, launch, lost }: { execution: number; launch: number; lost: LostLaunch[] },
): Promise<AgentStepResult> {
  const placement = ctx.fleet?.placement;
  return agentActivities.runAgentStep.executeWithOptions(
    {
      startToCloseTimeout: request.timeoutMs + START_TO_CLOSE_MARGIN_MS,
      heartbeatTimeout: ctx.input.options?.agentHeartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
      // a repo.url run: on the worker that holds its workspace (a silent one is lost after lostAfterMs)
      ...(placement ? onPlacement(placement, true) : {}),
      // every failure comes back here at once: the workflow tells a lost worker from a failed launch
      retry: { maximumAttempts: 1 },
      summary: launch > 1 ? `${summary} · launch ${launch}` : summary,
    },
    [
      {
        ...request,
        ...(placement ? { run: ctx.run } : {}),
        execution,
        launch,
        relaunchInWorkflow: true,
        lostLaunches: lost.length > 0 ? [...lost] : undefined,
        ...verdictInputs,
      },
    ],
  );
}

/** Before the worker-loss patch: Temporal retries the activity (3 attempts, whatever the cause). */
async function launchWithTemporalRetries(
  ctx: RunContext,
  request: AgentStepRequest,
  summary: string,
): Promise<AgentStepResult> {
  for (;;) {
    try {
      return await agentActivities.runAgentStep.executeWithOptions(
        {
          startToCloseTimeout: request.timeoutMs,
          heartbeatTimeout: ctx.input.options?.agentHeartbeatTimeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
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
        await parkOnRateLimit(ctx, request, summary, waitMs);
        continue;
      }
      if (cause instanceof ApplicationFailure || (cause && !isCancellation(err))) {
        fail(`${summary}: ${cause.message}`);
      }
      throw err;
    }
  }
}

/**
 * Sleeps until the provider's reset time. Meanwhile the status view and the current details say when the
 * run goes on (state only: no command changes).
 */
async function parkOnRateLimit(
  ctx: RunContext,
  request: AgentStepRequest,
  summary: string,
  waitMs: number,
): Promise<void> {
  const active = ctx.active.get(activeKey(request.step, request.context.item?.id, request.role));
  if (active) active.rateLimitedUntilMs = Date.now() + waitMs;
  refreshDetails(ctx);
  try {
    await sleep(waitMs, { summary: `rate limit: resume ${summary}` } as never);
  } finally {
    if (active) delete active.rateLimitedUntilMs;
  }
  refreshDetails(ctx);
}

function launchFailed(request: AgentStepRequest, reason: string): AgentStepResult {
  return {
    launchFailure: reason,
    artifacts: [],
    violations: [],
    usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    provider: request.spec.provider,
    files: { prompt: '' },
    durationMs: 0,
  };
}

function backoffMs(ctx: RunContext, n: number): number {
  const first = ctx.input.options?.relaunchBackoffMs ?? BACKOFF.firstMs;
  return Math.min(BACKOFF.maxMs, first * 2 ** (n - 1));
}

/** "heartbeat", "start-to-close", ... */
function timeoutName(failure: TimeoutFailure): string {
  return (failure.timeoutType ?? 'activity').toLowerCase().replace(/_/g, '-');
}
