// The run request: what any Temporal client sends to start an SOP by name (the workflow type is the SOP's
// name, the workflow id `<sop>/<task>`). The workflow validates it first thing, resolves the SOP through
// an activity on a worker (its catalog compiles the plan, recorded in history) and checks the input
// against the SOP's input schema, so every client gets the same errors. Pure: workflow code imports it.
import { z } from 'zod';
import type { RunRef } from './contract';
import type { ExecutionPlan } from './plan';
import { NAME_MESSAGE, NAME_PATTERN, TASK_ID_MESSAGE, TASK_ID_PATTERN } from './names';
import { zodProblem } from './zod-problem';

const ABSOLUTE_PATH = /^(\/|[A-Za-z]:[\\/])/;

export const RepoRefSchema = z
  .strictObject({
    /** a git remote to clone into the worker's work root (needs fleet provisioning: not available yet) */
    url: z.string().min(1).optional(),
    /** a local repository on the worker's machine; the run works in place */
    path: z.string().regex(ABSOLUTE_PATH, 'must be an absolute path').optional(),
    /** branch, tag or commit to start from (with url) */
    ref: z.string().min(1).optional(),
  })
  .refine((repo) => (repo.url === undefined) !== (repo.path === undefined), {
    message: 'needs exactly one of "url" (a git remote) or "path" (an absolute local path)',
  });

export const RunRequestSchema = z.strictObject({
  /** the SOP's name: the same as the workflow type */
  sop: z.string().regex(NAME_PATTERN, NAME_MESSAGE),
  /** default: the part of the workflow id after `<sop>/` */
  task: z.string().regex(TASK_ID_PATTERN, TASK_ID_MESSAGE).optional(),
  repo: RepoRefSchema,
  /** the run input, checked against the SOP's `input:` schema (declared defaults fill the gaps) */
  input: z.record(z.string(), z.unknown()),
  /** operator settings (the SOP's `params:`) */
  params: z.record(z.string(), z.unknown()).optional(),
  /** a one-line description for summaries (default: input.request) */
  request: z.string().max(2_000).optional(),
  /** the SOP's `version:` or a prefix (7+ hex digits) of its bundle hash; the run fails if the worker's differs */
  sopVersion: z.string().min(1).optional(),
  /** the provider for steps that do not name one (as `sop run --provider`) */
  provider: z.enum(['codex', 'claude']).optional(),
});

export type RepoRef = z.infer<typeof RepoRefSchema>;
export type RunRequest = z.infer<typeof RunRequestSchema>;

export const RUN_REQUEST_FIELDS = Object.keys(RunRequestSchema.shape);

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
  workflow: { workflowType: string; workflowId: string },
): { taskId: string } | { problem: string } {
  if (request.sop !== workflow.workflowType) {
    return {
      problem: `run request: sop is "${request.sop}" but the workflow type is "${workflow.workflowType}"; start the workflow with type "${request.sop}"`,
    };
  }
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

/** What this worker fleet cannot do yet (workspaces provisioned per worker are a later step). */
export function repoProblem(repo: RepoRef): string | undefined {
  if (repo.url !== undefined) return 'repo.url needs fleet provisioning, not available yet; use repo.path';
  if (repo.ref !== undefined)
    return 'repo.ref needs fleet provisioning, not available yet; a repo.path run works on the checked-out tree';
  return undefined;
}

/** What the workflow asks the resolve activity: the validated request and where the run lives. */
export interface ResolveRunRequest {
  request: RunRequest;
  taskId: string;
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
  /** where it was resolved: the worker's host and the catalog entry (workspace, project or package) */
  resolvedBy: { host: string; source: string; dir: string };
}

/** The failure type of a run request the workflow or the resolve activity refused (never retried). */
export const RUN_REQUEST_INVALID = 'SopRunRequestInvalid';
