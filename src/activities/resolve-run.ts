// The run request's SOP, resolved on the worker that takes the activity: its catalog (the workspace's
// .sop/sops/, the worker's project sops/, the shipped SOPs) compiles the bundle, the version pin is
// checked, the input and params are checked with the same messages `sop run` gives, and the plan is
// returned to be recorded in history. Every refusal is one non-retryable line naming the field.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { SopInputError, UnpricedModelError } from '../client/errors';
import { unpricedCodexRoles } from '../harnesses/pricing';
import {
  type ResolvedRun,
  type ResolveRunRequest,
  RUN_REQUEST_INVALID,
  type RunRequest,
} from '../model/run-request';
import { Catalog } from '../sop/catalog';
import type { SopBundle } from '../sop/compile';
import { didYouMean } from '../sop/diagnostics';
import { planFromBundle } from '../sop/plan';
import { inputProblems, inputWithDefaults, summarizeInput, unknownParamsProblem } from '../sop/run-input';

export interface ResolveActivityDeps {
  /** the worker's project (its sops/ and sop.config.yaml); default: the worker's working directory */
  projectDir?: string;
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
      const catalog = new Catalog({ projectDir: deps.projectDir ?? process.cwd(), workspace });
      const entry = catalog.find(request.sop);
      if (!entry) {
        const suggestion = didYouMean(request.sop, catalog.names());
        refuse(
          `sop: no SOP named "${request.sop}" in the catalog of worker ${os.hostname()}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; it has ${catalog.entries.map((e) => e.name).join(', ') || 'none'}`,
        );
      }
      if (entry.name !== request.sop) {
        refuse(
          `sop: "${request.sop}" is an alias of "${entry.name}"; start the workflow with type "${entry.name}"`,
        );
      }
      const compiled = catalog.compile(entry);
      const bundle = compiled.bundle;
      if (!bundle) {
        const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
        const first = errors[0];
        refuse(
          `sop: ${entry.name} does not compile on worker ${os.hostname()}: ${first ? `${first.file}:${first.line}:${first.column} ${first.code} ${first.message}` : 'unknown error'}${errors.length > 1 ? ` (and ${errors.length - 1} more; run sop validate ${entry.dir})` : ''}`,
        );
      }
      const versionProblem = sopVersionProblem(request, bundle);
      if (versionProblem) refuse(versionProblem);
      const params = request.params ?? {};
      const paramsProblem = unknownParamsProblem(bundle, params);
      if (paramsProblem) refuse(`params: ${paramsProblem}`);
      let plan: ReturnType<typeof planFromBundle>;
      try {
        plan = planFromBundle(bundle, { params, provider: request.provider });
      } catch (err) {
        refuse(`params: ${(err as Error).message}`);
      }
      const input = inputWithDefaults(bundle, request.input);
      const problems = inputProblems(plan.inputSchema, input);
      if (problems.length > 0) refuse(new SopInputError(plan.sop, problems).message);
      // priced as this worker's Codex runs would be (its SOP_CODEX_MODEL and SOP_PRICES)
      const unpriced = plan.budgets.maxUsd === undefined ? [] : unpricedCodexRoles(plan);
      if (unpriced.length > 0) {
        const error = new UnpricedModelError(plan.sop, plan.budgets.maxUsd!, unpriced);
        refuse(`budget: ${error.message}; ${error.hint}`);
      }
      return {
        plan,
        run: {
          sop: plan.sop,
          taskId,
          workspace,
          runFolder: path.join(workspace, '.sop', 'runs', plan.sop, taskId),
        },
        input,
        params,
        request: request.request ?? summarizeInput(input),
        engine,
        resolvedBy: { host: os.hostname(), source: entry.source, dir: entry.dir },
      };
    },
  };
}

/** `sopVersion` names the SOP's `version:` or a prefix of its bundle hash (7+ hex digits). */
function sopVersionProblem(request: RunRequest, bundle: SopBundle): string | undefined {
  const wanted = request.sopVersion;
  if (wanted === undefined) return undefined;
  if (bundle.version !== undefined && wanted === String(bundle.version)) return undefined;
  if (/^[0-9a-f]{7,64}$/.test(wanted) && bundle.hash.startsWith(wanted)) return undefined;
  return `sopVersion: "${wanted}" does not match ${bundle.name} on worker ${os.hostname()} (version ${bundle.version ?? 'unset'}, bundle ${bundle.hash.slice(0, 12)})`;
}

function refuse(message: string): never {
  throw ApplicationFailure.create({ type: RUN_REQUEST_INVALID, message, nonRetryable: true });
}
