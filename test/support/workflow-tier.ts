// The workflow tier's harness (*.workflow.test.ts): samples-typescript's workflows-mocks pattern on the real dev
// server. The interpreter is the workflow bundle the global setup built from src/; the worker's activities are the
// real ones (files, artifact checks, evidence, git worktrees) except the harness, which is the scripted stand-in
// for every provider, so no harness process starts and a case takes seconds. Durations a case would wait out
// are injected short: RunOptions (agentHeartbeatTimeoutMs, relaunchBackoffMs), step timeouts, ask_timeout.
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { ActivityDeps } from '../../src/activities';
import type { RunRef } from '../../src/shapes/contract';
import type { ExecutionPlan } from '../../src/shapes/execution-plan';
import type { RunOptions, RunResult } from '../../src/shapes/run';
import { expectAgreement } from './agreement';
import { makeWorkspace, runRequest, servePlans } from './plans';
import type { ScriptedRunner } from './scripted-runner';
import { type TemporalTestContext, withWorker } from './temporal';

export interface ScriptedRun {
  handle: WorkflowHandle;
  run: RunRef;
  taskQueue: string;
}

/** What a run ended with: its result, or the error `handle.result()` threw (its cause has the reason). */
export interface RunEnd extends ScriptedRun {
  result?: RunResult;
  error?: Error & { cause?: Error };
}

/**
 * Starts `p` by run request in a fresh git workspace (or `workspace`) on a worker of its own queue that serves
 * `p` with these run options (the scripted runner answers for codex and claude), and hands the run to `fn`
 * while the worker runs: queries and updates reach it, and a closed run can be replayed for a query. When
 * `fn` is done, every run of the queue must have records that agree.
 */
export async function withScriptedRun<T>(
  ctx: TemporalTestContext,
  p: ExecutionPlan,
  runner: ScriptedRunner,
  fn: (started: ScriptedRun) => Promise<T>,
  options: RunOptions = {},
  workspace?: string,
  /** more activity dependencies (e.g. the forge a review gate reads from) */
  deps: Partial<ActivityDeps> = {},
): Promise<T> {
  const taskId = randomUUID();
  const run = workspace
    ? { sop: p.sop, taskId, workspace, runFolder: path.join(workspace, '.sop', 'runs', p.sop, taskId) }
    : makeWorkspace(p.sop, taskId);
  return withWorker(
    ctx,
    async (taskQueue) => {
      const handle = await ctx.client.workflow.start(p.sop, {
        workflowId: `${p.sop}/${run.taskId}`,
        taskQueue,
        args: [runRequest(p, run)],
      });
      return fn({ handle, run, taskQueue });
    },
    { ...deps, runners: { codex: runner, claude: runner }, ...servePlans(p), runOptions: options },
  );
}

/** Runs `p` to its end (completed, failed or cancelled) with the scripted runner. */
export function runScripted(
  ctx: TemporalTestContext,
  p: ExecutionPlan,
  runner: ScriptedRunner,
  options: RunOptions = {},
  workspace?: string,
): Promise<RunEnd> {
  return withScriptedRun(ctx, p, runner, async (started) => endOf(started), options, workspace);
}

/** Waits for the run's end; its records must agree (checked again for the whole queue by withWorker). */
export async function endOf(started: ScriptedRun): Promise<RunEnd> {
  let end: RunEnd;
  try {
    end = { ...started, result: (await started.handle.result()) as RunResult };
  } catch (error) {
    end = { ...started, error: error as Error & { cause?: Error } };
  }
  await expectAgreement({ sop: started.run.sop, task: started.run.taskId, runFolder: started.run.runFolder });
  return end;
}

/** `step:route` of every route the run took. */
export const routesOf = (result: RunResult | undefined) =>
  (result?.routesTaken ?? []).map((r) => `${r.step}${r.item ? `[${r.item}]` : ''}:${r.route}`);
