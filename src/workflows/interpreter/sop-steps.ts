// `kind: sop` steps: another SOP of the catalog runs as a Temporal child workflow of this run (id
// `<run's workflow id>/<step>[/<item>]`), started with a run request like any client's, in this run's
// workspace (or the item's worktree when items run side by side). The step waits for it: its final status
// (or the route its `route_on` step took) picks this step's route, and its outputs become this step's
// payload for later templates. Cancelling this run cancels the child; the child's memo `parent` and
// SopParent search attribute are the same lineage runs started by events have. What a child used and
// whether a person is awaited in it: children.ts (patched: runs recorded before it emit what they did).
import {
  CancellationScope,
  ChildWorkflowFailure,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  startChild,
  TerminatedFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { InterpreterActivities } from '../../activities/interpreter-activities';
import type { WorkItem } from '../../shapes/contract';
import type { RouteTarget, StepSpec } from '../../shapes/execution-plan';
import { calledTaskId, PARENT_MEMO_KEY, type RunParent } from '../../shapes/lineage';
import type { RunResult, RunUsage } from '../../shapes/run';
import type { RunRequest } from '../../shapes/run-request';
import { renderValue } from '../../shapes/trigger-request';
import { SopName, SopParent, SopStatus, SopTaskId } from '../../temporal/search-attributes';
import { describeLoss, moveWorkspace, onPlacement, workerLost } from '../workspace';
import { budgetProblem } from './budgets';
import { childEnded, childStarting, usageOfFailure, usageOfResult } from './children';
import {
  activeKey,
  deliveryKey,
  describeFailure,
  describeTarget,
  fail,
  type RunContext,
  type StepEnd,
} from './context';
import { setCurrentStep } from './visibility';
import { markInPlaceWork, mergeBack, openWorktreeFor } from './worktrees';

const { recordChildRun } = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

/** How the child run ended, as this step sees it. */
type ChildEnd =
  | { status: 'completed'; result: RunResult }
  | { status: 'failed'; failure: string; result?: undefined };

export async function runSopStep(
  ctx: RunContext,
  step: StepSpec,
  item: WorkItem | undefined,
): Promise<StepEnd> {
  const call = step.call!;
  const { run, state } = ctx;
  const info = workflowInfo();
  const where = `${step.name}${item ? ` [${item.id}]` : ''}`;

  const input = renderValue(call.input, templateScope(ctx, item), `steps.${step.name}.input`);
  if ('problem' in input) return failed(step, `${where}: ${input.problem}`, { problem: input.problem });

  // items (or branches) running side by side each get a worktree: no two children share a working tree
  const worktree = await openWorktreeFor(ctx, step, item);
  if (!worktree) markInPlaceWork(ctx);
  const workspace = worktree?.path ?? run.workspace;
  const workflowId = `${info.workflowId}/${step.name}${item ? `/${item.id}` : ''}`;
  const task = calledTaskId({ sop: run.sop, task: run.taskId }, step.name, item?.id);
  const { parent, request, placement } = childRequest(ctx, step, {
    item,
    where,
    input: input.value,
    workspace,
    task,
  });

  // what earlier children used counts against this run's budgets, as agent runs do
  const budget = ctx.children.tracks ? budgetProblem(ctx) : undefined;
  if (budget) fail(`${budget} before ${where} could start ${call.sop}`);
  state.executions++;
  const execution = state.executions;
  const key = activeKey(step.name, item?.id, 'sop');
  setCurrentStep(ctx, step.name);
  ctx.active.set(key, { step: step.name, ...(item ? { item: item.id } : {}), role: `sop ${call.sop}` });
  const startedAtMs = Date.now();
  let end: ChildEnd;
  let childRunId = '';
  let used: RunUsage | undefined;
  childStarting(ctx, workflowId);
  try {
    const child = await startChild(call.sop, {
      workflowId,
      args: [request],
      memo: { [PARENT_MEMO_KEY]: parent },
      typedSearchAttributes: [
        { key: SopName, value: call.sop },
        { key: SopTaskId, value: task },
        { key: SopStatus, value: 'running' },
        { key: SopParent, value: info.workflowId },
      ],
      // this run's cancellation sends the child a cancel request; a parent that ends any other way
      // (terminated, timed out) asks the child to cancel rather than leaving it running or killing it
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      staticSummary: `${run.sop} ${where} → ${call.sop}`,
    });
    childRunId = child.firstExecutionRunId;
    end = { status: 'completed', result: (await child.result()) as RunResult };
    used = usageOfResult(end.result);
  } catch (err) {
    used = usageOfFailure(err);
    // this run is being cancelled: the child was sent a cancel request with it
    if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
    end = { status: 'failed', failure: childFailure(err, workflowId) };
  } finally {
    ctx.active.delete(key);
    childEnded(ctx, workflowId, used);
  }

  const routed = routeOf(step, end, workflowId);
  if (worktree && end.status === 'completed' && routed.target.kind !== 'fail') {
    const conflicts = await mergeBack(ctx, step, item, worktree, true);
    if (conflicts) {
      routed.route = 'failed';
      routed.target = failTarget(
        step,
        `${where}: the work of ${workflowId} (branch ${worktree.branch}) did not merge into the run's workspace: ${conflicts.join(', ')} conflict`,
      );
    }
  }
  const payload = {
    run: workflowId,
    sop: call.sop,
    status: end.status,
    ...(end.status === 'failed' ? { failure: end.failure } : {}),
    ...(end.result ? outputsOf(end.result) : {}),
  };
  // on the run's worker: a child that failed because that worker was lost fails this record too, and the
  // run moves to another worker and runs this step (a new child) again there (commits.ts)
  await recordChildRun
    .executeWithOptions(
      {
        startToCloseTimeout: '1 minute',
        retry: { maximumAttempts: 3 },
        summary: `${where} · ${workflowId}`,
        ...(placement ? onPlacement(placement) : {}),
      },
      [
        {
          run: ctx.run,
          execution,
          step: step.name,
          ...(item ? { item: item.id } : {}),
          child: {
            sop: call.sop,
            task,
            workflowId,
            runId: childRunId,
            workspace,
            status: end.status,
            ...(end.status === 'failed' ? { failure: end.failure } : {}),
          },
          input: request.input,
          route: routed.route,
          target: describeTarget(routed.target),
          startedAtMs,
          durationMs: Date.now() - startedAtMs,
        },
      ],
    )
    .catch((err) => {
      if (placement && ctx.fleet && workerLost(err))
        return moveWorkspace(ctx.fleet, placement.queue, describeLoss(err));
      throw err;
    });
  // the next agent step hears how the child ended
  if (routed.target.kind === 'step' && routed.target.step !== step.name) {
    state.deliveries[deliveryKey(routed.target.step, item?.id)] = [
      `Step ${where} ran SOP ${call.sop} as run ${workflowId}: it ${end.status}${end.status === 'failed' ? ` (${end.failure})` : ''}.`,
    ];
  }
  return { route: routed.route, target: routed.target, payload };
}

/** What the step's `input:` templates read: the run's input, params, run, earlier steps and the item. */
function templateScope(ctx: RunContext, item: WorkItem | undefined): Record<string, unknown> {
  const { run } = ctx;
  return {
    input: ctx.input.input,
    params: ctx.input.params,
    run: { sop: run.sop, task: run.taskId, folder: run.runFolder.slice(run.workspace.length + 1) },
    steps: ctx.state.outputs,
    ...(item ? { item: { ...item, key: item.id } } : {}),
  };
}

/** The child's outputs as this step's payload: `outputs.<step>` (its payload) and `routes.<step>`. */
function outputsOf(result: RunResult): { outputs: Record<string, unknown>; routes: Record<string, string> } {
  const outputs: Record<string, unknown> = {};
  const routes: Record<string, string> = {};
  for (const [name, out] of Object.entries(result.outputs ?? {})) {
    outputs[name] = out.payload;
    routes[name] = out.route;
  }
  for (const taken of result.routesTaken ?? []) routes[taken.step] ??= taken.route;
  return { outputs, routes };
}

/** completed / failed, or the route the child's `route_on` step took (failed when the child failed). */
function routeOf(step: StepSpec, end: ChildEnd, workflowId: string): { route: string; target: RouteTarget } {
  const call = step.call!;
  if (end.status === 'failed') {
    const route = step.routes.find((r) => r.name === 'failed')!;
    const target =
      route.target.kind === 'fail'
        ? failTarget(step, `${route.target.reason ?? 'the SOP this step called failed'}: ${end.failure}`)
        : route.target;
    return { route: 'failed', target };
  }
  let name = 'completed';
  if (call.routeOn !== undefined) {
    const taken =
      end.result.outputs?.[call.routeOn]?.route ??
      [...(end.result.routesTaken ?? [])].reverse().find((r) => r.step === call.routeOn)?.route;
    if (taken === undefined) {
      return {
        route: 'failed',
        target: failTarget(
          step,
          `${workflowId} completed without running step ${call.routeOn}, which route_on names`,
        ),
      };
    }
    name = taken;
  }
  const route = step.routes.find((r) => r.name === name);
  if (!route) {
    return {
      route: name,
      target: failTarget(
        step,
        `${workflowId} ${call.routeOn ? `took route ${name} at step ${call.routeOn}` : 'completed'} and step ${step.name} has no "${name}" route`,
      ),
    };
  }
  return { route: name, target: route.target };
}

/** A failure of the step: its on_failure target when it routes elsewhere, else a fail naming the step. */
function failTarget(step: StepSpec, reason: string): RouteTarget {
  return { kind: 'fail', reason: `${step.name}: ${reason}` };
}

function failed(step: StepSpec, problem: string, payload: unknown): StepEnd {
  const route = step.routes.find((r) => r.name === 'failed');
  const target = route && route.target.kind !== 'fail' ? route.target : failTarget(step, problem);
  return { route: 'failed', target, payload };
}

/** One line: why the child run did not complete. */
function childFailure(err: unknown, workflowId: string): string {
  if (err instanceof ChildWorkflowFailure) {
    const cause = err.cause;
    if (cause instanceof TerminatedFailure) return `${workflowId} was terminated`;
    if (isCancellation(err)) return `${workflowId} was cancelled`;
    return `${workflowId} failed: ${cause?.message ?? err.message}`;
  }
  return `${workflowId} could not start: ${describeFailure(err)}`;
}

/**
 * The child's lineage (memo `parent`) and the run request it starts with. A repo.url run: the child works
 * in this run's workspace on the worker that holds it (it commits nothing: this step's commit holds its
 * work, once).
 */
function childRequest(
  ctx: RunContext,
  step: StepSpec,
  child: { item?: WorkItem; where: string; input: unknown; workspace: string; task: string },
) {
  const { run } = ctx;
  const { item, where, input, workspace, task } = child;
  const call = step.call!;
  const info = workflowInfo();
  const parent: RunParent = {
    workflowId: info.workflowId,
    runId: info.runId,
    step: step.name,
    ...(item ? { item: item.id } : {}),
    depth: (ctx.input.parent?.depth ?? 0) + 1,
    chain: [...(ctx.input.parent?.chain ?? []), info.workflowId],
  };
  const placement = ctx.fleet?.placement;
  const request: RunRequest = {
    sop: call.sop,
    task,
    repo: { path: workspace },
    ...(placement
      ? { worker: { queue: placement.queue, host: placement.host, lostAfterMs: placement.lostAfterMs } }
      : {}),
    input: input as Record<string, unknown>,
    request: `${run.sop} ${where}: ${ctx.input.request ?? run.taskId}`.slice(0, 2_000),
  };
  return { parent, request, placement };
}
