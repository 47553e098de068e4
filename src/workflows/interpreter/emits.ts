// Events between SOPs, on the workflow side: a route taken (or the run finishing) with `emits:` schedules
// the emit activity, which starts every listening SOP. The n-th emission of the run gets child task ids
// derived from the run (lineage.ts), so a retried activity or a replay never starts a listener twice. The
// run waits for its emissions before it ends; one that failed (a chain past the depth limit, a listener
// whose input mapping fails) fails the run with that reason.
import { log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { EmitActivities } from '../../activities/emit-event';
import type { RouteTarget } from '../../shapes/execution-plan';
import {
  type EmitEventRequest,
  EVENT_DEPTH_EXCEEDED,
  EVENT_MAPPING_FAILED,
  emittedTaskId,
} from '../../shapes/lineage';
import type { EmitSpec } from '../../shapes/triggers';
import { describeFailure, fail, type RunContext, recordRoute } from './context';

// New commands (the emit activity) only for plans that declare emits; the marker is written before the first.
const EMIT_EVENTS_PATCH = 'emit-events-v1';

const { emitEvent } = proxyActivities<EmitActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [EVENT_DEPTH_EXCEEDED, EVENT_MAPPING_FAILED] },
});

/**
 * Records the route taken and starts the events it emits (awaited by settleEmits); `payload` is the
 * step's outcome, which the emitted payload may use as steps.<step>.payload.
 */
export function takeRoute(
  ctx: RunContext,
  step: string,
  route: string,
  target: RouteTarget,
  item?: string,
  payload?: unknown,
): void {
  recordRoute(ctx, step, route, target, item);
  const emits = ctx.stepsByName.get(step)?.routes.find((r) => r.name === route)?.emits;
  if (!emits?.length) return;
  const outcome = payload === undefined ? {} : { [step]: { route, payload } };
  startEmits(ctx, emits, `${step}${item ? ` [${item}]` : ''} → ${route}`, outcome);
}

/** The SOP's own `emits:` when the run finishes. */
export function emitOnFinish(ctx: RunContext): void {
  if (ctx.plan.emits?.length) startEmits(ctx, ctx.plan.emits, 'finish', {});
}

function startEmits(
  ctx: RunContext,
  emits: EmitSpec[],
  where: string,
  outcome: Record<string, { route: string; payload: unknown }>,
): void {
  if (!ctx.isPatched(EMIT_EVENTS_PATCH)) return;
  const { state, run, input } = ctx;
  const info = workflowInfo();
  for (const emit of emits) {
    state.eventsEmitted = (state.eventsEmitted ?? 0) + 1;
    const request: EmitEventRequest = {
      event: emit.event,
      ...(emit.payload ? { payload: emit.payload } : {}),
      scope: {
        input: input.input,
        params: input.params,
        run: { sop: run.sop, task: run.taskId, folder: run.runFolder },
        steps: { ...state.outputs, ...outcome },
      },
      emitter: {
        workflowId: info.workflowId,
        runId: info.runId,
        workspace: run.workspace,
        taskQueue: info.taskQueue,
      },
      ...(input.parent ? { emitterParent: input.parent } : {}),
      childTask: emittedTaskId(
        { sop: run.sop, task: run.taskId, firstRunId: info.firstExecutionRunId },
        emit.event,
        state.eventsEmitted,
      ),
    };
    const started = emitEvent
      .executeWithOptions(
        {
          startToCloseTimeout: '2 minutes',
          retry: { maximumAttempts: 5, nonRetryableErrorTypes: [EVENT_DEPTH_EXCEEDED, EVENT_MAPPING_FAILED] },
          summary: `emit ${emit.event} (${where})`,
        },
        [request],
      )
      .then(
        (result) => {
          const runs = result.runs.map((r) => `${r.workflowId}${r.started ? '' : ' (existed)'}`);
          log.info(`${where}: emitted ${emit.event} → ${runs.join(', ') || 'no listener'}`);
        },
        (err) => {
          ctx.emitFailures.push(`${where}: emits ${emit.event}: ${describeFailure(err)}`);
        },
      );
    ctx.emitting.push(started);
  }
}

/** Waits for the emissions under way; fails the run when one failed. */
export async function settleEmits(ctx: RunContext): Promise<void> {
  while (ctx.emitting.length > 0) await Promise.all(ctx.emitting.splice(0));
  if (ctx.emitFailures.length > 0) fail(ctx.emitFailures[0]);
}
