import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execaSync } from 'execa';
import type { RunRef } from '../../src/shapes/contract';
import type {
  ExecutionPlan,
  RoleSpec,
  RouteSpec,
  RouteTarget,
  StepSpec,
} from '../../src/shapes/execution-plan';
import type { RunRequest } from '../../src/shapes/run-request';

export const to = (step: string): RouteTarget => ({ kind: 'step', step });
export const finish: RouteTarget = { kind: 'finish' };
export const failTarget = (reason?: string): RouteTarget => ({ kind: 'fail', reason });

export function route(name: string, target: RouteTarget, requires: string[] = []): RouteSpec {
  return { name, target, requires };
}

export function role(prompt: string, writes: string[] = []): RoleSpec {
  return {
    prompt,
    promptFile: 'prompts/test.md',
    writes,
    policy: { sandbox: 'workspace-write' },
    provider: 'codex',
  };
}

export function step(name: string, fields: Partial<StepSpec>): StepSpec {
  return {
    name,
    kind: 'agent',
    after: [],
    routes: [],
    maxRework: 3,
    onReworkExhausted: failTarget('rework exhausted'),
    maxAttempts: 3,
    onFailure: failTarget(),
    timeoutMs: 60_000,
    ...fields,
  };
}

export function plan(sop: string, steps: StepSpec[], extra: Partial<ExecutionPlan> = {}): ExecutionPlan {
  return { sop, bundleHash: `test-${sop}`, steps, artifacts: [], worklists: [], budgets: {}, ...extra };
}

/** A real git repository in a temp dir, with a run folder inside it. */
export function makeWorkspace(sop: string, taskId: string): RunRef {
  const workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-ws-')));
  execaSync('git', ['init', '-q'], { cwd: workspace });
  fs.writeFileSync(path.join(workspace, 'README.md'), '# sample\n');
  const runFolder = path.join(workspace, '.sop', 'runs', sop, taskId);
  fs.mkdirSync(runFolder, { recursive: true });
  return { sop, taskId, workspace, runFolder };
}

/** The run request that starts `p` in `run`'s workspace, on a worker that serves it (`servePlans`). */
export function runRequest(p: ExecutionPlan, run: RunRef, extra: Partial<RunRequest> = {}): RunRequest {
  return {
    sop: p.sop,
    task: run.taskId,
    repo: { path: run.workspace },
    input: { request: 'test request' },
    ...extra,
  };
}

/**
 * Worker settings that make its resolve activity serve these hand-built plans by SOP name (before its
 * catalog): the run is started by run request and its plan recorded in history, as every run's is.
 */
export function servePlans(...plans: ExecutionPlan[]): { plans: Map<string, ExecutionPlan> } {
  return { plans: new Map(plans.map((p) => [p.sop, p])) };
}
