// The resolve activity: the one place a run's plan is made. The workflow of every run (whoever started
// it: `sop run`, `sop test`, SopClient, a trigger, an event, a `kind: sop` step, any Temporal client)
// asks a worker to resolve its run request; the worker's catalog (src/sop/catalog.ts: the workspace's
// .sop/sops/, the worker's project sops/, the shipped SOPs) compiles the bundle and the resolver
// (src/sop/resolve.ts) checks the version pin, params and input. The result is recorded in history, so
// replay, resume and rerun use exactly this plan. Every refusal is one non-retryable line naming the field.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { lookUpSecrets } from '../config/secrets';
import { githubSettingsFromEnv } from '../forge/credentials';
import { ForgeCredentialError } from '../forge/errors';
import type { ExecutionPlan } from '../shapes/execution-plan';
import type { RunOptions } from '../shapes/run';
import { type ResolvedRun, type ResolveRunRequest, RUN_REQUEST_INVALID } from '../shapes/run-request';
import { Catalog } from '../sop/catalog';
import { checkRun, findSop, type PlannedRun, planRun, type Resolution } from '../sop/resolve';

export interface ResolveActivityDeps {
  /** the worker's project (its sops/ and sop.config.yaml); default: the worker's working directory */
  projectDir?: string;
  /**
   * Plans by SOP name that this worker serves before its catalog, as they are (tests of the workflow
   * logic give hand-built plans; the input is still checked against them).
   */
  plans?: ReadonlyMap<string, ExecutionPlan>;
  /** run options this worker gives every run it resolves (tests shorten the heartbeat timeout) */
  runOptions?: RunOptions;
  /** where the forge credential is read (SOP_GITHUB_*); default: the worker's environment */
  forgeEnv?: NodeJS.ProcessEnv;
}

export type ResolveActivities = ReturnType<typeof createResolveActivities>;

export function createResolveActivities(deps: ResolveActivityDeps = {}) {
  return {
    async resolveRunRequest(resolve: ResolveRunRequest): Promise<ResolvedRun> {
      const { request, taskId, engine } = resolve;
      // repo.url: the worktree provisioned on this worker; repo.path: the repository in place
      const workspace = resolve.workspace ?? request.repo.path;
      if (!workspace) refuse('repo.url: the workspace was not provisioned on this worker');
      if (!fs.existsSync(workspace) || !fs.statSync(workspace).isDirectory()) {
        refuse(
          `${resolve.workspace ? 'the provisioned workspace' : 'repo.path'} ${workspace} is not a directory on worker ${os.hostname()}`,
        );
      }
      const { planned, source } = resolveOnThisWorker(deps, request, workspace);
      const { plan } = planned;
      const cannotDeliver = deliveryProblem(plan, request.repo, deps.forgeEnv ?? process.env);
      if (cannotDeliver) refuse(cannotDeliver);
      refuseMissingSecrets(plan);
      return {
        plan,
        run: {
          sop: plan.sop,
          taskId,
          workspace,
          runFolder: path.join(workspace, '.sop', 'runs', plan.sop, taskId),
        },
        input: planned.input,
        params: planned.params,
        request: planned.request,
        engine,
        ...(deps.runOptions ? { options: deps.runOptions } : {}),
        resolvedBy: { host: os.hostname(), ...source },
      };
    },
  };
}

function resolveOnThisWorker(
  deps: ResolveActivityDeps,
  request: ResolveRunRequest['request'],
  workspace: string,
): { planned: PlannedRun; source: { source: string; dir: string } } {
  const fixed = deps.plans?.get(request.sop);
  if (fixed) return { planned: accepted(checkRun(fixed, request)), source: { source: 'fixed', dir: '' } };
  const where = `worker ${os.hostname()}`;
  const catalog = new Catalog({ projectDir: deps.projectDir ?? process.cwd(), workspace });
  const { entry, bundle } = accepted(findSop(catalog, request.sop, where));
  return {
    planned: accepted(planRun(bundle, request, where)),
    source: { source: entry.source, dir: entry.dir },
  };
}

/**
 * Why the run cannot make the deliveries its SOP declares, checked before it starts: the worker's forge
 * credential (naming the variable that is missing), and a run branch for a pull request or a status.
 */
function deliveryProblem(
  plan: ExecutionPlan,
  repo: ResolveRunRequest['request']['repo'],
  env: NodeJS.ProcessEnv,
): string | undefined {
  const deliver = plan.deliver;
  if (!deliver || (deliver.deliveries.length === 0 && !deliver.agent)) return undefined;
  try {
    githubSettingsFromEnv(env);
  } catch (err) {
    if (err instanceof ForgeCredentialError)
      return `SOP ${plan.sop} delivers to GitHub (deliver:), but ${err.message}`;
    throw err;
  }
  const branchBound = deliver.deliveries.find(
    (d) => d.action.kind === 'pull_request' || d.action.kind === 'status',
  );
  if (branchBound && repo.url === undefined)
    return `SOP ${plan.sop} delivers ${branchBound.name} (a ${branchBound.action.kind.replace('_', ' ')} on the run branch), which needs a repo.url run: start it with repo.url, not repo.path`;
  return undefined;
}

function accepted<T>(resolution: Resolution<T>): T {
  if ('refused' in resolution) refuse(resolution.refused.line);
  return resolution.ok;
}

/** A run whose SOP declares secrets this worker does not have is refused at its start, naming them. */
function refuseMissingSecrets(plan: ExecutionPlan): void {
  let missing: string[];
  try {
    missing = lookUpSecrets(plan.secrets ?? []).missing;
  } catch (err) {
    refuse((err as Error).message);
  }
  if (missing.length > 0)
    refuse(
      `the SOP ${plan.sop} needs the secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which worker ${os.hostname()} does not have: set ${missing.length > 1 ? 'them' : 'it'} in the worker's environment or in its SOP_SECRETS_FILE (sop doctor lists them)`,
    );
}

function refuse(message: string): never {
  throw ApplicationFailure.create({ type: RUN_REQUEST_INVALID, message, nonRetryable: true });
}
