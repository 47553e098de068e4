// Deliveries to the forge (the SOP's `deliver:`): the workflow decides when each happens (a route taken, the
// run's end, its failure) and validates what an agent asked for in its outcome; the delivery activity writes
// it on a worker with the worker's credential. A forge's rate limit parks the run on a durable timer until
// the reset, as a model's does; a refusal fails the delivery with the forge's own message (and the run,
// unless the run is failing already). Runs whose plan declares no deliveries never get here.
import { ActivityFailure, ApplicationFailure, log, proxyActivities, sleep } from '@temporalio/workflow';
import type { DeliverActivities } from '../../activities/deliver';
import { RATE_LIMITED, type RateLimitDetails } from '../../shapes/contract';
import {
  agentDeliveryName,
  checkAgentRequests,
  DELIVERY_REFUSED,
  type DeliveryPoint,
  type DeliveryRequest,
  type DeliverySpec,
  deliveriesAt,
  type ForgeRunState,
  pointName,
  type RunRecordFacts,
} from '../../shapes/deliveries';
import { describeLoss, moveWorkspace, onPlacement, WorkspaceMoved, workerLost } from '../workspace';
import type { RunContext } from './context';
import { fail } from './context';
import { refreshDetails } from './visibility';

/** Patch id: the run makes the deliveries its plan declares. Decided once per execution, at its start. */
export const DELIVERIES_PATCH = 'forge-deliveries-v1';

const { deliver } = proxyActivities<DeliverActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [RATE_LIMITED, DELIVERY_REFUSED] },
});

const KEPT = 50;

/** The run's forge state (created on first use; carried in the run state). */
function forgeState(ctx: RunContext): ForgeRunState {
  ctx.state.forge ??= { deliveries: [], refused: [], agentRequests: 0 };
  return ctx.state.forge;
}

/**
 * The deliveries declared for this point, one after another (the pull request first). Returns the failures
 * when `tolerate` (the run is failing already); else a failed delivery fails the run.
 */
export async function deliverAt(ctx: RunContext, point: DeliveryPoint, tolerate = false): Promise<string[]> {
  if (!ctx.deliver) return [];
  const failures: string[] = [];
  const specs = deliveriesAt(ctx.deliver, point);
  // the pull request's record follows the run: refreshed at every point where something else is delivered
  const pr = ctx.deliver.deliveries.find((d) => d.action.kind === 'pull_request');
  if (pr && specs.length > 0 && !specs.includes(pr) && ctx.state.forge?.pullRequest) specs.unshift(pr);
  const status = point.kind === 'end' ? 'completed' : point.kind === 'failure' ? 'failed' : 'running';
  for (const spec of specs) {
    const failure = await deliverOne(ctx, spec, pointName(point), status);
    if (failure && !tolerate) fail(failure);
    if (failure) failures.push(failure);
  }
  return failures;
}

/**
 * An accepted step's outcome may ask for comments and labels (`deliver` beside its route): each request is
 * checked against `deliver.agent:`; the allowed ones are delivered now, the others recorded as refused.
 */
export async function deliverAgentRequests(
  ctx: RunContext,
  step: string,
  item: string | undefined,
  payload: unknown,
): Promise<void> {
  if (!ctx.deliver) return;
  const requested = (payload as { deliver?: unknown } | undefined)?.deliver;
  if (requested === undefined || requested === null) return;
  const allowance = ctx.deliver.agent;
  const { comments, labels, refused } = checkAgentRequests(requested, allowance, { step, item });
  const forge = forgeState(ctx);
  for (const r of refused) log.warn(`${step}: refused agent request for ${r.kind} "${r.value}": ${r.reason}`);
  forge.refused.push(...refused);
  if (forge.refused.length > KEPT) forge.refused.splice(0, forge.refused.length - KEPT);
  const at = `${step}${item ? ` [${item}]` : ''} (agent)`;
  if (comments.length === 0 && labels.length === 0) return;
  const request = ++forge.agentRequests;
  for (const [i, body] of comments.entries()) {
    const spec: DeliverySpec = {
      name: agentDeliveryName(step, request, 'comment', i + 1),
      on: [],
      action: { kind: 'comment', issue: allowance!.comments!.issue, body },
    };
    const failure = await deliverOne(ctx, spec, at);
    if (failure) fail(failure);
  }
  if (labels.length > 0) {
    const spec: DeliverySpec = {
      name: agentDeliveryName(step, request, 'labels'),
      on: [],
      action: { kind: 'labels', issue: allowance!.labels!.issue, add: labels, remove: [] },
    };
    const failure = await deliverOne(ctx, spec, at);
    if (failure) fail(failure);
  }
}

/** One delivery, parked through rate limits and moved with a lost worker; its failure message, if any. */
async function deliverOne(
  ctx: RunContext,
  spec: DeliverySpec,
  at: string,
  status: RunRecordFacts['status'] = 'running',
): Promise<string | undefined> {
  const forge = forgeState(ctx);
  for (;;) {
    const placement = ctx.fleet?.placement;
    try {
      const result = await deliver.executeWithOptions(
        {
          startToCloseTimeout: '2 minutes',
          retry: { maximumAttempts: 5, nonRetryableErrorTypes: [RATE_LIMITED, DELIVERY_REFUSED] },
          summary: `deliver ${spec.name} (${at})`,
          // the run folder (the evidence digest) is on the worker that holds the workspace
          ...(placement && !placement.pinned ? onPlacement(placement, true) : {}),
        },
        [requestOf(ctx, spec, at, status)],
      );
      keep(forge, result.record);
      if (result.pullRequest) forge.pullRequest = result.pullRequest;
      return undefined;
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = err.cause;
      if (cause instanceof ApplicationFailure && cause.type === RATE_LIMITED) {
        const details = cause.details?.[0] as RateLimitDetails | undefined;
        await parkUntil(
          ctx,
          details?.resetAtMs,
          `deliver ${spec.name}: ${details?.message ?? cause.message}`,
        );
        continue;
      }
      if (placement && ctx.fleet && !placement.pinned && workerLost(err)) {
        try {
          await moveWorkspace(ctx.fleet, placement.queue, describeLoss(err));
        } catch (moved) {
          if (!(moved instanceof WorkspaceMoved)) throw moved;
        }
        continue;
      }
      const message = cause?.message ?? err.message;
      keep(forge, { name: spec.name, at, kind: spec.action.kind, action: 'failed', error: message });
      return message.startsWith('delivery ') ? message : `delivery ${spec.name}: ${message}`;
    }
  }
}

function keep(forge: ForgeRunState, record: ForgeRunState['deliveries'][number]): void {
  forge.deliveries.push(record);
  if (forge.deliveries.length > KEPT) forge.deliveries.shift();
}

/** A durable timer until the forge's reset; the status view says when the run goes on. */
async function parkUntil(ctx: RunContext, resetAtMs: number | undefined, why: string): Promise<void> {
  const forge = forgeState(ctx);
  const waitMs = Math.max(1_000, (resetAtMs ?? Date.now() + 60_000) - Date.now());
  log.warn(`${why}; parked for ${waitMs} ms`);
  forge.rateLimitedUntilMs = Date.now() + waitMs;
  refreshDetails(ctx);
  try {
    await sleep(waitMs, { summary: `forge rate limit: ${why}`.slice(0, 400) } as never);
  } finally {
    delete forge.rateLimitedUntilMs;
  }
  refreshDetails(ctx);
}

function requestOf(
  ctx: RunContext,
  spec: DeliverySpec,
  at: string,
  status: RunRecordFacts['status'],
): DeliveryRequest {
  const { state, input, run } = ctx;
  const placement = ctx.fleet?.placement ?? state.placement;
  return {
    workflowId: `${run.sop}/${run.taskId}`,
    spec,
    at,
    ...(ctx.deliver?.repo ? { repo: ctx.deliver.repo } : {}),
    ...(placement ? { remote: placement.remote, branch: placement.branch, head: placement.head } : {}),
    ...(placement?.baseBranch ? { baseRef: placement.baseBranch } : {}),
    ...(state.forge?.pullRequest ? { pullRequest: state.forge.pullRequest } : {}),
    runFolder: run.runFolder,
    sop: run.sop,
    taskId: run.taskId,
    scope: {
      input: input.input,
      params: input.params,
      steps: state.outputs,
      routes: state.routesTaken.map((r) => `${r.step}${r.item ? ` [${r.item}]` : ''}: ${r.route}`).join('\n'),
      run: { sop: run.sop, task: run.taskId },
    },
    record: recordFacts(ctx, status),
  };
}

function recordFacts(ctx: RunContext, status: RunRecordFacts['status']): RunRecordFacts {
  const { state, plan } = ctx;
  return {
    status,
    ...(ctx.failure ? { failure: ctx.failure } : {}),
    routesTaken: state.routesTaken,
    steps: plan.steps.map((s) => ({
      name: s.name,
      kind: s.kind,
      ...(s.command ? { command: s.command.run } : {}),
    })),
    answers: (state.answers ?? []).map((a) => ({
      step: a.step,
      kind: a.kind,
      ...(a.route ? { route: a.route } : {}),
      ...(a.by ? { by: a.by } : {}),
    })),
    usage: state.usage,
    deniedCalls: state.deniedCalls,
    denials: state.denials.map((d) => ({
      step: d.step,
      role: d.role,
      tool: `${d.tool} ${d.target}`.trim(),
      reason: d.reason,
    })),
    refused: state.forge?.refused ?? [],
  };
}
