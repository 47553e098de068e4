// repo.url runs: every accepted step (or worklist item) becomes one commit on the run branch, pushed to
// the run's remote. A step whose worker is lost on the way runs again on the worker the run moved to
// (from the last pushed commit); a step whose commit reached the remote before the loss is not run again.
import { log } from '@temporalio/workflow';
import {
  commitStep,
  describeLoss,
  moveWorkspace,
  onPlacement,
  WorkspaceMoved,
  workerLost,
} from '../workspace';
import type { RunContext, StepEnd } from './context';

export interface Unit {
  step: string;
  item?: string;
}

/** Runs `work` (a step, or a worklist item) until it ends in a workspace that still holds its work. */
export async function runAccepted(
  ctx: RunContext,
  unit: Unit,
  work: () => Promise<StepEnd>,
): Promise<StepEnd> {
  const fleet = ctx.fleet;
  // a child run in its parent's workspace: the parent commits the step that called it
  if (!fleet || fleet.placement.pinned) return work();
  const label = `${unit.step}${unit.item ? ` [${unit.item}]` : ''}`;
  for (;;) {
    const provisions = fleet.placement.provisions;
    let end: StepEnd;
    try {
      end = await work();
    } catch (err) {
      if (!(err instanceof WorkspaceMoved)) throw err;
      log.warn(`${label}: ${err.message}; running it again on ${fleet.placement.host}`);
      continue;
    }
    if (end.target.kind === 'fail') return end;
    // part of the step ran in a workspace that is gone: the new one does not hold its work
    if (fleet.placement.provisions !== provisions) {
      log.warn(`${label}: the workspace moved while it ran; running it again on ${fleet.placement.host}`);
      continue;
    }
    const key = `${unit.step}#${unit.item ?? ''}#${ctx.state.executions}`;
    try {
      await commit(ctx, unit, end.route, key);
      return end;
    } catch (err) {
      if (!(err instanceof WorkspaceMoved)) throw err;
      // pushed before the worker was lost: accepted, not to be done again
      if (err.keys.includes(key)) return end;
      log.warn(`${label}: ${err.message} before its commit was pushed; running it again`);
    }
  }
}

async function commit(ctx: RunContext, unit: Unit, route: string, key: string): Promise<void> {
  const fleet = ctx.fleet!;
  const placement = fleet.placement;
  const { sop, taskId } = ctx.run;
  try {
    const result = await commitStep.executeWithOptions(
      {
        startToCloseTimeout: '5 minutes',
        retry: { maximumAttempts: 3 },
        summary: `commit ${unit.step}${unit.item ? ` [${unit.item}]` : ''} → ${route}`,
        ...onPlacement(placement, true),
      },
      [
        {
          workspace: ctx.run.workspace,
          branch: placement.branch,
          subject: `${sop}/${taskId}: ${unit.step}${unit.item ? ` [${unit.item}]` : ''} → ${route}`,
          trailers: {
            'Sop-Name': sop,
            'Sop-Task': taskId,
            'Sop-Step': unit.step,
            ...(unit.item ? { 'Sop-Item': unit.item } : {}),
            'Sop-Route': route,
          },
          key,
        },
      ],
    );
    if (fleet.placement.queue === placement.queue) {
      fleet.placement = { ...fleet.placement, head: result.commit };
      ctx.state.placement = fleet.placement;
    }
  } catch (err) {
    if (workerLost(err)) await moveWorkspace(fleet, placement.queue, describeLoss(err));
    throw err;
  }
}
