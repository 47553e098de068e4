// One step (for one item): the role(s) it runs, the rework loop and the route it ends on; command
// steps; the step's failure path.
import type { InterpreterActivities } from '../../activities/interpreter-activities';
import type { WorkItem } from '../../shapes/contract';
import type { RouteTarget, StepSpec } from '../../shapes/execution-plan';
import { describeLoss, moveWorkspace, onPlacement, workerLost } from '../workspace';
import { runCommandStep } from './activities';
import { deliveryKey, type RunContext, type StepEnd, stringify } from './context';
import { takeRoute } from './emits';
import { requestInput, routeAnswer } from './input';
import { isReviewAnswer, withInlineComments } from './reviews';
import { type RoleOutcome, runRole } from './roles';
import { runSopStep } from './sop-steps';
import { setCurrentStep } from './visibility';
import {
  MERGE_CONFLICT_ROUTE,
  markInPlaceWork,
  mergeBack,
  mergeConflictFinding,
  openWorktreeFor,
} from './worktrees';

/** The route recorded when the runtime sends the work back because the producer left out an artifact. */
const MISSING_ARTIFACT_ROUTE = 'missing_artifact';

export async function runStep(ctx: RunContext, step: StepSpec, item: WorkItem | undefined): Promise<StepEnd> {
  const { state } = ctx;
  if (step.kind === 'command') return runCommand(ctx, step);
  if (step.kind === 'sop') return runSopStep(ctx, step, item);
  if (step.kind === 'input') {
    let result = await requestInput(ctx, step, item, step.input!, 0);
    if (result.answered && step.input?.review && isReviewAnswer(result.value))
      result = { ...result, value: await withInlineComments(ctx, result.value) };
    if (!result.answered) {
      return {
        route: 'timed_out',
        target: step.input?.onTimeout ?? { kind: 'fail', reason: 'input timed out' },
        payload: null,
      };
    }
    const routed = await routeAnswer(ctx, step, item, step.input!, result, step.routes);
    return { ...routed, payload: result.value };
  }

  // beside other work (concurrent items, parallel branches): a worktree of its own, merged when accepted
  const worktree = await openWorktreeFor(ctx, step, item);
  let rework = 0;
  let feedback: string[] = [];
  for (;;) {
    const key = deliveryKey(step.name, item?.id);
    feedback.push(...(state.deliveries[key] ?? []));
    delete state.deliveries[key];
    let outcome: RoleOutcome;
    if (step.kind === 'produce_verify') {
      const produced = await runRole(ctx, step, 'producer', step.producer!, item, rework, feedback);
      if (!produced.ok) return failurePath(step, produced.problem);
      outcome = await runRole(ctx, step, 'verifier', step.verifier!, item, rework, [], produced.written);
    } else {
      outcome = await runRole(ctx, step, 'agent', step.agent!, item, rework, feedback);
    }
    if (!outcome.ok) return failurePath(step, outcome.problem);
    const route = step.routes.find((r) => r.name === outcome.route)!;
    const isRework = route.target.kind === 'step' && route.target.step === step.name;
    // the verifier's route needs artifacts the producer did not write: back to the producer
    const missing = outcome.producerFindings ?? [];
    // accepted work in a worktree is merged first: a conflict goes back to the producer
    const findings = [...missing];
    if (!isRework && missing.length === 0) {
      const conflicts =
        worktree && route.target.kind !== 'fail' ? await mergeBack(ctx, step, item, worktree) : undefined;
      if (!conflicts) return { route: route.name, target: route.target, payload: outcome.payload };
      findings.push(mergeConflictFinding(conflicts, worktree!));
    }

    const self: RouteTarget = { kind: 'step', step: step.name };
    if (isRework) takeRoute(ctx, step.name, route.name, route.target, item?.id, outcome.payload);
    else if (missing.length > 0) takeRoute(ctx, step.name, MISSING_ARTIFACT_ROUTE, self, item?.id);
    else takeRoute(ctx, step.name, MERGE_CONFLICT_ROUTE, self, item?.id);
    rework++;
    feedback = isRework
      ? [
          `The verifier sent the work back (rework ${rework} of ${step.maxRework}). Findings:`,
          stringify(outcome.payload),
          ...missing,
        ]
      : [`The runtime sent the work back (rework ${rework} of ${step.maxRework}). Findings:`, ...findings];
    if (rework <= step.maxRework) continue;

    const exhausted = step.onReworkExhausted;
    if (exhausted.kind !== 'request_input') {
      if (findings.length === 0 || exhausted.kind !== 'fail') {
        return { route: 'rework_exhausted', target: exhausted, payload: outcome.payload };
      }
      const reason = `${exhausted.reason ?? `step ${step.name} routed to fail`} (last finding: ${findings.join('; ')})`;
      return { route: 'rework_exhausted', target: { kind: 'fail', reason }, payload: { problem: reason } };
    }
    const result = await requestInput(ctx, step, item, exhausted.request, rework);
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
    if (exhausted.request.routes) {
      const routed = await routeAnswer(ctx, step, item, exhausted.request, result, exhausted.request.routes);
      return { ...routed, payload: result.value };
    }
    await routeAnswer(ctx, step, item, exhausted.request, result, []);
    const value = result.value as { approve?: unknown } | null;
    const accepted = step.routes.find((r) => r.name === 'accepted');
    if (value && typeof value === 'object' && value.approve === true && accepted) {
      // approved work in a worktree is merged too; a conflict now is the step's failure
      const conflicts = worktree ? await mergeBack(ctx, step, item, worktree) : undefined;
      if (conflicts) return failurePath(step, mergeConflictFinding(conflicts, worktree!));
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

/** A role that used up its attempts: the step's on_failure target (a fail names the step). */
function failurePath(step: StepSpec, problem: string): StepEnd {
  const target: RouteTarget =
    step.onFailure.kind === 'fail' ? { kind: 'fail', reason: `${step.name}: ${problem}` } : step.onFailure;
  return { route: 'failed', target, payload: { problem } };
}

async function runCommand(ctx: RunContext, step: StepSpec): Promise<StepEnd> {
  const { run, state } = ctx;
  markInPlaceWork(ctx);
  state.executions++;
  setCurrentStep(ctx, step.name);
  ctx.active.set(step.name, { step: step.name, role: 'command' });
  // a repo.url run: on the worker that holds its workspace; a lost one moves the run (WorkspaceMoved)
  const placement = ctx.fleet?.placement;
  let result: Awaited<ReturnType<InterpreterActivities['runCommandStep']>>;
  try {
    result = await runCommandStep.executeWithOptions(
      {
        startToCloseTimeout: step.command!.timeoutMs + 60_000,
        retry: { maximumAttempts: 3 },
        summary: `${step.name} · command`,
        ...(placement ? onPlacement(placement, true) : {}),
      },
      [
        {
          run,
          step: step.name,
          execution: state.executions,
          command: step.command!.run,
          timeoutMs: step.command!.timeoutMs,
          ...(step.command!.env ? { env: step.command!.env } : {}),
          ...(ctx.plan.secrets ? { secrets: ctx.plan.secrets } : {}),
        },
      ],
    );
  } catch (err) {
    if (placement && ctx.fleet && workerLost(err))
      await moveWorkspace(ctx.fleet, placement.queue, describeLoss(err));
    throw err;
  } finally {
    ctx.active.delete(step.name);
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
