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

function accepted<T>(resolution: Resolution<T>): T {
  if ('refused' in resolution) refuse(resolution.refused.line);
  return resolution.ok;
}

function refuse(message: string): never {
  throw ApplicationFailure.create({ type: RUN_REQUEST_INVALID, message, nonRetryable: true });
}
