// `run.json` in the run folder: a reviewer's summary of the run, and `executions.jsonl`: one line per agent
// execution or command, appended as each ends. Updating costs O(1) per execution (a 5,000-item worklist must
// not rescan its run folder after every item); the final status and totals come from the workflow when
// the run ends. Nothing reads these files to resume: Temporal is the source of truth.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { McpCall } from '../harnesses/mcp-calls';
import type { LineWritten, LostLaunch, RunRef } from '../shapes/contract';
import type { ForgeRunState } from '../shapes/deliveries';
import type { Denial } from '../shapes/denial';
import type { McpCallCount } from '../shapes/mcp-call';
import type { DeniedCall } from '../shapes/run';

export interface ExecutionRecord {
  kind: 'agent' | 'command' | 'answer' | 'sop';
  /** run-folder-relative folder (agent) or log file (command) */
  path: string;
  step: string;
  item?: string | null;
  role?: string;
  attempt?: number;
  /** agent: which harness launch of the attempt (every launch gets its own folder and line) */
  launch?: number;
  provider?: string;
  /** absent for a launch whose worker was lost (it never reported back) */
  startedAt?: string;
  durationMs?: number;
  /** agent: whether the runtime accepted the execution, and why not */
  accepted?: boolean;
  reason?: string | null;
  /** the harness launch failed (crash, hang, step timeout, API error) */
  launchFailure?: string | null;
  /** the worker running the launch died or stopped; the workflow launched again */
  workerLost?: boolean;
  /** the provider rate-limited the launch: the run parked until then (ISO time) and launched again */
  rateLimitedUntil?: string;
  route?: string | null;
  exitCode?: number;
  outcomeError?: string | null;
  violations?: string[];
  denials?: Denial[];
  /** agent: the git worktree it worked in (parallel work): workspace-relative folder, branch, base commit */
  worktree?: { path: string; branch: string; base: string };
  /** agent: tool calls that waited for a person (policy ask:) */
  toolApprovals?: Array<{ tool: string; approved: boolean; by: string | null; timedOut?: boolean }>;
  /** agent: every call of a tool of the step's MCP servers (server, tool, sizes, sha256 of the arguments, denied) */
  mcpCalls?: McpCall[];
  /** sop: the child run that served the step and how it ended */
  child?: { sop: string; workflowId: string; runId: string; status: 'completed' | 'failed' };
  /** answer: the request answered, by whom */
  requestId?: string;
  by?: string | null;
  usage?: { inputTokens: number; outputTokens: number; costUsd: number };
  /** agent: the role's session slot (`session:`), the harness session and whether it was resumed */
  session?: { slot: string; id: string | null; resumed: boolean; freshReason?: string };
}

export interface RunEnd {
  status: 'completed' | 'failed' | 'cancelled';
  failure?: string;
  routesTaken: Array<{ step: string; item?: string; route: string; target: string }>;
  usage: { inputTokens: number; outputTokens: number; costUsd: number; agentRuns: number };
  /** tool calls denied or blocked in the whole run, and the most recent of them */
  deniedCalls?: number;
  denials?: DeniedCall[];
  /** MCP tool calls of the whole run and how many were denied */
  mcpCalls?: McpCallCount;
  /** what the child runs of its `kind: sop` steps used (absent when it had none) */
  childUsage?: { inputTokens: number; outputTokens: number; costUsd: number; agentRuns: number };
  /** a run with deliveries: its pull request, the forge writes and the agent requests refused */
  forge?: ForgeRunState;
}

/** How the run ended as finishRun stamped it into run.json: the activity's result, so history holds it. */
export interface RunStamped {
  end: RunEnd;
  /** sha256 of run.json as stamped */
  runJsonSha256: string;
  /** executions.jsonl lines written with the stamp: launches whose worker was lost (these) */
  lines: LineWritten[];
  lostLaunches?: LostLaunch[];
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Appends the execution to executions.jsonl and points run.json at it (status running); returns the line's
 * path and sha256 for the activity's result (so Temporal history holds every line).
 */
export function recordExecution(run: RunRef, record: ExecutionRecord): LineWritten {
  fs.mkdirSync(run.runFolder, { recursive: true });
  const line = JSON.stringify(record);
  // one short line per append: concurrent writers (worklist items on several workers) do not interleave
  fs.appendFileSync(path.join(run.runFolder, 'executions.jsonl'), `${line}\n`);
  writeSummary(run, (previous) => ({
    ...previous,
    status: 'running',
    lastExecution: record,
  }));
  return { path: record.path, sha256: sha256(line) };
}

/**
 * `recordExecution`, unless executions.jsonl has a line for `record.path` already: then that line's path and
 * sha256 (a record a launch wrote before it died, which Temporal history has not seen yet).
 */
export function recordExecutionOnce(run: RunRef, record: ExecutionRecord): LineWritten {
  const file = path.join(run.runFolder, 'executions.jsonl');
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
  const pathOf = (line: string) => {
    try {
      return (JSON.parse(line) as { path?: string }).path;
    } catch {
      return undefined; // a line cut short by a worker that died while it wrote
    }
  };
  const written = lines.find((l) => pathOf(l) === record.path);
  return written === undefined
    ? recordExecution(run, record)
    : { path: record.path, sha256: sha256(written) };
}

/** Stamps run.json with how the run ended and its totals (called once, by the workflow); returns its sha256. */
export function finishRunSummary(run: RunRef, end: RunEnd): string {
  return writeSummary(run, (previous) => ({
    ...previous,
    status: end.status,
    failure: end.failure ?? null,
    endedAt: new Date().toISOString(),
    usage: end.usage,
    ...(end.childUsage ? { childUsage: end.childUsage } : {}),
    deniedCalls: end.deniedCalls ?? 0,
    denials: end.denials ?? [],
    mcpCalls: end.mcpCalls ?? { calls: 0, denied: 0 },
    routesTaken: end.routesTaken,
    ...(end.forge ? { forge: end.forge } : {}),
  }));
}

function writeSummary(
  run: RunRef,
  update: (previous: Record<string, unknown>) => Record<string, unknown>,
): string {
  const file = path.join(run.runFolder, 'run.json');
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    // first write
  }
  const now = new Date().toISOString();
  const summary = {
    sop: run.sop,
    task: run.taskId,
    workspace: run.workspace,
    startedAt: previous.startedAt ?? now,
    executionsFile: 'executions.jsonl',
    ...update(previous),
    updatedAt: now,
  };
  fs.mkdirSync(run.runFolder, { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const text = `${JSON.stringify(summary, null, 2)}\n`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return sha256(text);
}

/**
 * The denied tool calls an execution that started at `startedAtMs` stamped into run.json when it ended, or
 * undefined (not ended, stamped by an earlier run of the task, no run.json): for runs without a result.
 */
export function endedRunDenials(
  runFolder: string,
  startedAtMs: number,
): { deniedCalls: number; denials: DeniedCall[] } | undefined {
  try {
    const summary = JSON.parse(fs.readFileSync(path.join(runFolder, 'run.json'), 'utf8'));
    if (typeof summary.deniedCalls !== 'number' || !(Date.parse(summary.endedAt) >= startedAtMs))
      return undefined;
    return { deniedCalls: summary.deniedCalls, denials: summary.denials ?? [] };
  } catch {
    return undefined;
  }
}
