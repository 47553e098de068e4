// A run started by reference (the run request, src/model/run-request.ts): validated first thing, then the
// SOP is resolved by an activity on a worker, whose result (plan, bundle hash, checked input) is recorded
// in history. A bad request ends the run at once as failed with one line naming the field. The workflow
// sets its own search attributes and memo, so a run started by any client looks like one `sop run` made.
import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  setCurrentDetails,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ResolveActivities } from '../activities/resolve-run';
import { parentFromMemo } from '../model/lineage';
import type { RunInput, RunResult } from '../model/run';
import { parseRunRequest, RUN_REQUEST_INVALID, repoProblem, taskIdOf } from '../model/run-request';
import { SopName, SopStatus, SopTaskId } from '../temporal/search-attributes';
import { CURRENT_ENGINE } from './engine-version';
import { sopInterpreter } from './interpreter/index';

const { resolveRunRequest } = proxyActivities<ResolveActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [RUN_REQUEST_INVALID] },
});

/**
 * Every SOP's workflow (the bundle's default export): a run request is resolved into the interpreter's
 * input first; the plan-era input of runs in flight (and of `sop run`) goes to the interpreter as it is.
 */
export async function sopWorkflow(input: unknown): Promise<RunResult> {
  return sopInterpreter(isPlanInput(input) ? input : await runInputFromRequest(input));
}

/** Whether the workflow input is the plan-era shape (`{ plan, run, input, ... }`) of runs in flight. */
export function isPlanInput(value: unknown): value is RunInput {
  return typeof value === 'object' && value !== null && 'plan' in value && 'run' in value;
}

/** The interpreter's input for a run request, or a failed run with one line saying what is wrong. */
export async function runInputFromRequest(value: unknown): Promise<RunInput> {
  const info = workflowInfo();
  const parsed = parseRunRequest(value);
  const identity = 'request' in parsed ? taskIdOf(parsed.request, info) : undefined;
  const prefix = `${info.workflowType}/`;
  const taskId =
    identity && 'taskId' in identity
      ? identity.taskId
      : info.workflowId.startsWith(prefix)
        ? info.workflowId.slice(prefix.length)
        : info.workflowId;
  showRun(info.workflowType, taskId);
  if ('problem' in parsed) refuse(info.workflowType, parsed.problem);
  if (identity && 'problem' in identity) refuse(info.workflowType, identity.problem);
  const request = parsed.request;
  const unsupported = repoProblem(request.repo);
  if (unsupported) refuse(request.sop, unsupported);

  setCurrentDetails(`**${request.sop}** · resolving the SOP on a worker`);
  let resolved: Awaited<ReturnType<ResolveActivities['resolveRunRequest']>>;
  try {
    resolved = await resolveRunRequest.executeWithOptions(
      {
        startToCloseTimeout: '2 minutes',
        retry: { maximumAttempts: 3, nonRetryableErrorTypes: [RUN_REQUEST_INVALID] },
        summary: `resolve ${request.sop}`,
      },
      [{ request, taskId, engine: CURRENT_ENGINE }],
    );
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    if (!cause) throw err; // cancellation
    refuse(request.sop, cause.message);
  }
  upsertMemo({ bundleHash: resolved.plan.bundleHash, workspace: resolved.run.workspace });
  const parent = parentFromMemo(info.memo);
  return {
    ...(parent ? { parent } : {}),
    plan: resolved.plan,
    run: resolved.run,
    input: resolved.input,
    params: resolved.params,
    request: resolved.request,
    engine: resolved.engine,
  };
}

/** SopName, SopTaskId and SopStatus, where the starter did not set them (one visibility write at most). */
function showRun(sop: string, taskId: string): void {
  const current = workflowInfo().typedSearchAttributes;
  const wanted = [
    { key: SopName, value: sop },
    { key: SopTaskId, value: taskId },
    { key: SopStatus, value: 'running' },
  ];
  const missing = wanted.filter(({ key, value }) => current.get(key) !== value);
  if (missing.length > 0) upsertSearchAttributes(missing);
}

function refuse(sop: string, problem: string): never {
  upsertSearchAttributes([{ key: SopStatus, value: 'failed' }]);
  setCurrentDetails(`**${sop}** · failed\n\n${problem}`);
  throw ApplicationFailure.create({ type: RUN_REQUEST_INVALID, message: problem, nonRetryable: true });
}
