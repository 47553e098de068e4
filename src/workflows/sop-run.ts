// The main workflow: every SOP run starts here with a run request (src/shapes/run-request.ts). It is
// validated first thing, then the SOP is resolved by an activity on a worker, whose result (plan, bundle
// hash, checked input) is recorded in history. A bad request ends the run at once as failed with one line
// naming the field. The workflow sets its own search attributes and memo, so a run started by any client
// looks the same. Later executions of a run (continue-as-new, `sop resume`/`rerun`) carry the recorded
// plan; a plan compiled by a client is only replayed, for runs started before the run request was the
// one way to start (replayCompatPlanInput).
import {
  ActivityFailure,
  ApplicationFailure,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ResolveActivities } from '../activities/resolve-run';
import { CURRENT_ENGINE } from '../shapes/engine-version';
import { parentFromMemo } from '../shapes/lineage';
import { type RunStatusView, statusQuery } from '../shapes/messages';
import type { RunInput, RunResult } from '../shapes/run';
import {
  parseRunRequest,
  RUN_REQUEST_INVALID,
  type RunRequest,
  repoProblem,
  taskIdOf,
} from '../shapes/run-request';
import { FLEET_PATCH, type Placement } from '../shapes/workspace';
import { SopName, SopStatus, SopTaskId } from '../temporal/search-attributes';
import { sopInterpreter } from './interpreter/index';
import { provision, workerLost } from './workspace';

const { resolveRunRequest } = proxyActivities<ResolveActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [RUN_REQUEST_INVALID] },
});

/**
 * Every SOP's workflow (the bundle's default export): a run request is resolved into the interpreter's
 * input first; a later execution of a run goes on with the plan recorded when its run was resolved.
 */
export async function sopWorkflow(input: unknown): Promise<RunResult> {
  if (!hasPlan(input)) return sopInterpreter(await runInputFromRequest(input));
  if (input.resume || input.restart) return sopInterpreter(input);
  return sopInterpreter(replayCompatPlanInput(input));
}

/** The interpreter's own input shape (`{ plan, run, input, ... }`), which only a run's later executions get. */
function hasPlan(value: unknown): value is RunInput {
  return typeof value === 'object' && value !== null && 'plan' in value && 'run' in value;
}

// Marks the executions that refused a first input carrying a client-compiled plan.
const PLAN_INPUT_REFUSED_PATCH = 'plan-input-refused-v1';

/**
 * REPLAY COMPATIBILITY ONLY. Before every start went through the run request, `sop run`, `sop test` and
 * `SopClient.start(plan)` compiled the SOP on the client and put the plan in the first execution's input.
 * Runs recorded that way (test/histories: the v0-, v1-, v2-, e2- and unprefixed ones) replay through here
 * unchanged; a new execution started with such an input is refused with the way to start it instead.
 */
function replayCompatPlanInput(input: RunInput): RunInput {
  if (patched(PLAN_INPUT_REFUSED_PATCH)) {
    showRun(workflowInfo().workflowType, input.run.taskId);
    refuse(
      input.plan.sop,
      'a plan compiled by the client is not accepted as a run\'s input; start the run with a run request ({"sop", "repo", "input"}), which a worker resolves from its catalog',
    );
  }
  return input;
}

/** The interpreter's input for a run request, or a failed run with one line saying what is wrong. */
async function runInputFromRequest(value: unknown): Promise<RunInput> {
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
  const status = answerStatusWhileResolving(info.workflowType, taskId);
  try {
    if ('problem' in parsed) refuse(info.workflowType, parsed.problem);
    if (identity && 'problem' in identity) refuse(info.workflowType, identity.problem);
    return await resolvedInput(parsed.request, taskId);
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === RUN_REQUEST_INVALID) status.failure = err.message;
    throw err;
  }
}

/**
 * Until the interpreter takes over the status query (it replaces this handler), `sop runs show` and
 * `sop run` see a run being resolved as running with nothing done yet, and a refused one as failed.
 */
function answerStatusWhileResolving(sop: string, taskId: string): { failure?: string } {
  const seen: { failure?: string } = {};
  setHandler(
    statusQuery,
    (): RunStatusView => ({
      sop,
      taskId,
      bundleHash: '',
      status: seen.failure === undefined ? 'running' : 'failed',
      active: [],
      worklists: {},
      routesTaken: [],
      routesTakenCount: 0,
      usage: { inputTokens: 0, outputTokens: 0, costUsd: 0, agentRuns: 0 },
      deniedCalls: 0,
      denials: [],
      ...(seen.failure === undefined ? { resolving: true } : { failure: seen.failure }),
    }),
  );
  return seen;
}

async function resolvedInput(request: RunRequest, taskId: string): Promise<RunInput> {
  const info = workflowInfo();
  // Before this patch a repo.url run was refused here (it needed fleet provisioning).
  const fleet = request.repo.url !== undefined && patched(FLEET_PATCH);
  const unsupported = repoProblem(request.repo, fleet, request.worker);
  if (unsupported) refuse(request.sop, unsupported);
  if (request.worker && !info.parent)
    refuse(request.sop, 'worker is internal (a kind: sop step sets it on its child run); drop it');

  const pinned = request.worker ? pinnedPlacement(request.worker, request.repo.path!) : undefined;
  const { resolved, placement } = fleet
    ? await resolveOnProvisionedWorker(request, taskId)
    : { resolved: await resolve(request, taskId, pinned), placement: pinned };
  upsertMemo({
    bundleHash: resolved.plan.bundleHash,
    workspace: resolved.run.workspace,
    ...(placement && !placement.pinned ? { remote: placement.remote, branch: placement.branch } : {}),
  });
  const parent = parentFromMemo(info.memo);
  return {
    ...(parent ? { parent } : {}),
    ...(placement ? { placement } : {}),
    plan: resolved.plan,
    run: resolved.run,
    input: resolved.input,
    params: resolved.params,
    request: resolved.request,
    engine: resolved.engine,
    ...(resolved.options ? { options: resolved.options } : {}),
    ...(request.priority !== undefined ? { priority: request.priority } : {}),
  };
}

type Resolved = Awaited<ReturnType<ResolveActivities['resolveRunRequest']>>;

/** The SOP resolved on a worker (`placement`: on that worker's own queue, in the workspace provisioned there). */
async function resolve(request: RunRequest, taskId: string, placement?: Placement): Promise<Resolved> {
  setCurrentDetails(`**${request.sop}** · resolving the SOP on a worker`);
  try {
    return await resolveRunRequest.executeWithOptions(
      {
        startToCloseTimeout: '2 minutes',
        retry: { maximumAttempts: 3, nonRetryableErrorTypes: [RUN_REQUEST_INVALID] },
        summary: `resolve ${request.sop}`,
        ...(placement ? { taskQueue: placement.queue, scheduleToStartTimeout: placement.lostAfterMs } : {}),
      },
      [{ request, taskId, engine: CURRENT_ENGINE, workspace: placement?.workspace }],
    );
  } catch (err) {
    if (placement && workerLost(err)) throw err;
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    if (!cause) throw err; // cancellation
    refuse(request.sop, cause.message);
  }
}

/**
 * A child run of a `kind: sop` step in a repo.url run: its parent's workspace on the parent's worker, as a
 * placement that commits nothing and does not move (the run branch is the parent's to commit and move).
 */
function pinnedPlacement(worker: NonNullable<RunRequest['worker']>, workspace: string): Placement {
  return { ...worker, workspace, remote: '', branch: '', base: '', head: '', provisions: 1, pinned: true };
}

const PROVISION_TRIES = 3;

/** repo.url: the workspace is provisioned on whichever worker is free, and the SOP resolved there. */
async function resolveOnProvisionedWorker(
  request: RunRequest,
  taskId: string,
): Promise<{ resolved: Resolved; placement: Placement }> {
  for (let tries = 1; ; tries++) {
    setCurrentDetails(`**${request.sop}** · provisioning the workspace on a worker`);
    let placement: Placement;
    try {
      ({ placement } = await provision({
        sop: request.sop,
        taskId,
        url: request.repo.url!,
        ref: request.repo.ref,
      }));
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (!cause) throw err; // cancellation
      refuse(request.sop, cause.message);
    }
    try {
      return { resolved: await resolve(request, taskId, placement), placement };
    } catch (err) {
      if (!workerLost(err)) throw err;
      // the worker went away between provisioning and resolving: another one provisions
      if (tries >= PROVISION_TRIES) refuse(request.sop, `worker lost ${tries} times while provisioning`);
    }
  }
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
