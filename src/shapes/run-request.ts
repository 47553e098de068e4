// The run request: what any Temporal client sends to start an SOP by name (the workflow type is the SOP's
// name, the workflow id `<sop>/<task>`). The workflow validates it first thing, resolves the SOP through
// an activity on a worker (its catalog compiles the plan, recorded in history) and checks the input
// against the SOP's input schema, so every client gets the same errors. Pure: workflow code imports it.
import * as z from 'zod/mini';
import type { RunRef } from './contract';
import type { ExecutionPlan } from './execution-plan';
import { NAME_MESSAGE, NAME_PATTERN, TASK_ID_MESSAGE, TASK_ID_PATTERN } from './names';
import type { RunOptions } from './run';
import { zodProblem } from './zod-problem';

const ABSOLUTE_PATH = /^(\/|[A-Za-z]:[\\/])/;

const nonEmpty = () => z.string().check(z.minLength(1, 'must not be empty'));

export const RepoRefSchema = z
  .strictObject({
    /** a git remote: the worker that takes the run clones it into its work root (SOP_WORK_ROOT) */
    url: z.optional(nonEmpty()),
    /** a local repository on the worker's machine; the run works in place */
    path: z.optional(z.string().check(z.regex(ABSOLUTE_PATH, 'must be an absolute path'))),
    /** branch, tag or commit to start from (with url) */
    ref: z.optional(nonEmpty()),
  })
  .check(
    z.refine((repo) => (repo.url === undefined) !== (repo.path === undefined), {
      message: 'needs exactly one of "url" (a git remote) or "path" (an absolute local path)',
    }),
  );

export const RunRequestSchema = z.strictObject({
  /** the SOP's name: the same as the workflow type */
  sop: z.string().check(z.regex(NAME_PATTERN, NAME_MESSAGE)),
  /** default: the part of the workflow id after `<sop>/` */
  task: z.optional(z.string().check(z.regex(TASK_ID_PATTERN, TASK_ID_MESSAGE))),
  repo: RepoRefSchema,
  /** the run input, checked against the SOP's `input:` schema (declared defaults fill the gaps) */
  input: z.record(z.string(), z.unknown()),
  /** operator settings (the SOP's `params:`) */
  params: z.optional(z.record(z.string(), z.unknown())),
  /** a one-line description for summaries (default: input.request) */
  request: z.optional(z.string().check(z.maxLength(2_000, 'must be at most 2,000 characters'))),
  /** the SOP's `version:` or a prefix (7+ hex digits) of its bundle hash; the run fails if the worker's differs */
  sopVersion: z.optional(nonEmpty()),
  /** the run's place in quota lines (docs/quotas.md): 1 first … 5 last; default 2 for a person, 3 for a trigger */
  priority: z.optional(
    z
      .number()
      .check(z.refine((n) => Number.isInteger(n) && n >= 1 && n <= 5, 'must be a whole number from 1 to 5')),
  ),
  /** the provider for steps that do not name one (as `sop run --provider`) */
  provider: z.optional(z.enum(['codex', 'claude'])),
  /**
   * INTERNAL, not for clients: set by a `kind: sop` step of a repo.url run on the child run it starts. The
   * worker that owns the parent's workspace (repo.path, on that worker): the child runs every activity on
   * its own queue, commits nothing (the parent commits the step) and does not move when that worker is lost
   * (it fails, and the parent's worker-loss handling decides). Only a child run may carry it.
   */
  worker: z.optional(
    z.strictObject({
      queue: nonEmpty(),
      host: nonEmpty(),
      lostAfterMs: z.number().check(z.int(), z.positive()),
    }),
  ),
});

export type RepoRef = z.infer<typeof RepoRefSchema>;
export type RunRequest = z.infer<typeof RunRequestSchema>;

const RUN_REQUEST_FIELDS = Object.keys(RunRequestSchema.shape);

/** The request, or one line naming the field that is wrong. */
export function parseRunRequest(value: unknown): { request: RunRequest } | { problem: string } {
  const parsed = RunRequestSchema.safeParse(value);
  if (parsed.success) return { request: parsed.data };
  return {
    problem: `run request: ${zodProblem(parsed.error, value, '', RUN_REQUEST_FIELDS, 'the request')}`,
  };
}

/**
 * Where the request says it runs must agree with the workflow it started: type = sop, id = `<sop>/<task>`.
 * Returns the task id, or one line saying what to change.
 */
export function taskIdOf(
  request: RunRequest,
  workflow: { workflowType: string; workflowId: string; parent?: { workflowId: string } },
): { taskId: string } | { problem: string } {
  if (request.sop !== workflow.workflowType) {
    return {
      problem: `run request: sop is "${request.sop}" but the workflow type is "${workflow.workflowType}"; start the workflow with type "${request.sop}"`,
    };
  }
  // a child run of a `kind: sop` step: id `<parent-id>/<step>[/<item>]`, its task given by the parent
  const parent = workflow.parent?.workflowId;
  if (parent !== undefined && request.task !== undefined && workflow.workflowId.startsWith(`${parent}/`))
    return { taskId: request.task };
  const prefix = `${request.sop}/`;
  if (request.task !== undefined) {
    if (workflow.workflowId === `${prefix}${request.task}`) return { taskId: request.task };
    return {
      problem: `run request: task is "${request.task}" but the workflow id is "${workflow.workflowId}"; use the workflow id "${prefix}${request.task}"`,
    };
  }
  const task = workflow.workflowId.startsWith(prefix) ? workflow.workflowId.slice(prefix.length) : '';
  if (TASK_ID_PATTERN.test(task)) return { taskId: task };
  return {
    problem: `run request: the workflow id "${workflow.workflowId}" is not "${prefix}<task>" (task ${TASK_ID_MESSAGE}); use such an id or give "task"`,
  };
}

/**
 * What the workers cannot do with this repo (`fleet`: whether the run may provision a repo.url workspace;
 * `worker`: the internal owning worker of a child run's repo.path).
 */
export function repoProblem(repo: RepoRef, fleet = true, worker?: RunRequest['worker']): string | undefined {
  if (repo.url !== undefined && !fleet)
    return 'repo.url needs fleet provisioning, not available yet; use repo.path';
  if (worker !== undefined && repo.path === undefined)
    return 'worker (internal) goes with repo.path: it names the worker that owns that workspace';
  if (repo.path !== undefined && repo.ref !== undefined)
    return 'repo.ref goes with repo.url (a repo.path run works on the checked-out tree); drop ref or give url';
  return undefined;
}

/** What the workflow asks the resolve activity: the validated request and where the run lives. */
export interface ResolveRunRequest {
  request: RunRequest;
  taskId: string;
  /** a repo.url run: the workspace provisioned on this worker (default: repo.path) */
  workspace?: string;
  /** the workflow's engine (engine-version.ts): echoed back, so the run's layout is recorded in history */
  engine: number;
}

/** The SOP resolved on a worker: recorded in history, so replay, resume and rerun use exactly this plan. */
export interface ResolvedRun {
  plan: ExecutionPlan;
  run: RunRef;
  /** the input with the SOP's declared defaults filled in, checked against its input schema */
  input: Record<string, unknown>;
  params: Record<string, unknown>;
  /** one line for summaries */
  request: string;
  /** the engine the workflow asked with (recorded here: replay by newer code keeps the run's layout) */
  engine: number;
  /** the resolving worker's run options (absent: the defaults) */
  options?: RunOptions;
  /** where it was resolved: the worker's host and the catalog entry (workspace, project or package; fixed: a plan the worker was given) */
  resolvedBy: { host: string; source: string; dir: string };
}

/** The failure type of a run request the workflow or the resolve activity refused (never retried). */
export const RUN_REQUEST_INVALID = 'SopRunRequestInvalid';
