// The run's own types: what a run starts with, the state it carries (through continue-as-new and
// restarts) and what it ends with. Plain types only: read by the interpreter workflow, the client and
// the CLI alike.

import type { AgentQuestion } from './agent-question';
import type { RunRef, SessionSlot, Usage } from './contract';
import type { ForgeRunState } from './deliveries';
import type { Denial } from './denial';
import type { ExecutionPlan } from './execution-plan';
import type { ForgeReview, ReviewRecord } from './forge-review';
import type { RunParent } from './lineage';
import type { McpCallCount } from './mcp-call';
import type { Placement } from './workspace';

export type RunStatus = 'running' | 'waiting_input' | 'completed' | 'failed' | 'cancelled';

/** What a run used: tokens, cost and how many agent runs (harness launches). */
export type RunUsage = Usage & { agentRuns: number };

export const NO_USAGE: RunUsage = { inputTokens: 0, outputTokens: 0, costUsd: 0, agentRuns: 0 };

export function addRunUsage(a: RunUsage, b: RunUsage): RunUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    costUsd: a.costUsd + b.costUsd,
    agentRuns: a.agentRuns + b.agentRuns,
  };
}

export interface RouteTaken {
  step: string;
  item?: string;
  route: string;
  target: string;
}

/** A denied or blocked tool call and where in the run it happened. */
export interface DeniedCall extends Denial {
  step: string;
  item?: string;
  role: string;
}

/** An answer as the run recorded it: who sent it and when (from history), where it routed. */
export interface AnswerRecord {
  requestId: string;
  step: string;
  item?: string;
  kind: 'input' | 'tool_approval';
  value: unknown;
  route?: string;
  target?: string;
  /** the Temporal client identity that sent the answer, e.g. alice@laptop */
  by?: string;
  at?: string;
  /** run-folder-relative evidence record of the answer */
  evidence?: string;
  /** the question the agent wrote for the request (agent_asks), when it wrote one */
  agentQuestion?: AgentQuestion;
}

export interface RunOptions {
  /** continue-as-new when history grows past this many events (also when the server suggests it) */
  continueAsNewAfterEvents?: number;
  /** a harness activity silent for this long is presumed dead (its worker crashed) and retried */
  agentHeartbeatTimeoutMs?: number;
  /** `test`: a run of `sop test`, marked with the SopKind search attribute (hidden by `sop runs list`) */
  kind?: 'test';
  /** the wait before a lost or failed launch is launched again, doubling each time in a row (default 1 s) */
  relaunchBackoffMs?: number;
}

export interface RunInput {
  plan: ExecutionPlan;
  run: RunRef;
  input: Record<string, unknown>;
  params: Record<string, unknown>;
  /** a short description of the request, for summaries */
  request?: string;
  options?: RunOptions;
  /** history layout the run started with (engine-version.ts); absent in runs started before it existed */
  engine?: number;
  /** the run whose event started this one (events between SOPs); absent: a person or a trigger did */
  parent?: RunParent;
  /** the run's place in quota lines: 1 first … 5 last (absent: 2 for a person's run, 3 for a trigger's or event's) */
  priority?: number;
  /** a repo.url run: the workspace and worker queue it was provisioned on (the run state has the latest) */
  placement?: Placement;
  /** set by continue-as-new: the state so far and the step to resume at */
  resume?: { state: RunState; at: string };
  /**
   * set by `sop resume` / `sop rerun`: a new execution of a finished task, from the state its last
   * execution reached. resume: the steps that were in progress run again; rerun: `step` and everything
   * downstream of it run again, with `context` in the step's next prompt.
   */
  restart?: { state: RunState; steps: string[]; rerun?: Rerun };
}

/** Re-run `step` and what follows it; for a worklist step, `items` (all of them when absent) again. */
export interface Rerun {
  step: string;
  context?: string;
  items?: string[];
  /** a follow-up run (review-router.ts): the review that sent the finished run's work back answers `step`, its review gate */
  review?: ForgeReview;
}

/** What `sop resume` / `sop rerun` need from an execution (the checkpoint query). */
export interface RunCheckpoint {
  input: Omit<RunInput, 'resume' | 'restart'>;
  state: RunState;
  /** steps started and not finished: where a resumed run picks up */
  inProgress: string[];
  status: RunStatus;
}

/** Launches of one step (and item) that never reported back or failed, for `sop runs show`. */
export interface Relaunches {
  /** the worker died or stopped while the harness ran (not the step's fault; launched again) */
  workerLosses: number;
  /** the harness failed (crash, hang, step timeout, model API error) */
  launchFailures: number;
  /** a relaunch is under way */
  retrying: boolean;
}

export interface RunResult {
  status: 'completed';
  routesTaken: RouteTaken[];
  usage: Usage & { agentRuns: number };
  outputs: Record<string, { route: string; payload: unknown }>;
  /** tool calls denied or blocked in the whole run (absent in runs that ended before it was counted) */
  deniedCalls?: number;
  /** the most recent of them */
  denials?: DeniedCall[];
  /** MCP tool calls of the whole run and how many were denied (absent when it made none) */
  mcpCalls?: McpCallCount;
  /** by step (`step [item]` for worklist items), only steps that had any; absent before it existed */
  relaunches?: Record<string, Relaunches>;
  /** the answers people gave (absent in runs started before they were recorded) */
  answers?: AnswerRecord[];
  /** reviews of the run's pull request that reached it, and what became of each (absent: none) */
  reviews?: ReviewRecord[];
  /** a repo.url run: its run branch, last pushed commit and the worker it ended on */
  placement?: Placement;
  /** what the child runs of its `kind: sop` steps used (theirs and their own children's), when it had any */
  childUsage?: RunUsage;
  /** a run with deliveries (`deliver:`): its pull request, the writes made and the agent requests refused */
  forge?: ForgeRunState;
}

export interface RunState {
  startedAtMs: number;
  usage: Usage & { agentRuns: number };
  routesTaken: RouteTaken[];
  routesTakenCount: number;
  outputs: Record<string, { route: string; payload: unknown }>;
  done: string[];
  started: string[];
  /** worklist step -> items done and in all, as last read from the worklist file */
  worklists: Record<string, { done: number; total: number }>;
  executions: number;
  /** steps started in all (budget max_steps); absent in state from before it was counted */
  stepsStarted?: number;
  pendingMessages: string[];
  /** answers waiting to be delivered into the next prompt of the step (and item) that asked */
  deliveries: Record<string, string[]>;
  /** tool calls denied or blocked so far, and the most recent of them */
  deniedCalls: number;
  denials: DeniedCall[];
  /** MCP tool calls so far and how many were denied (absent until the first one) */
  mcpCalls?: McpCallCount;
  /** launches lost with their worker in the whole run (max_worker_losses); absent before it existed */
  workerLosses?: number;
  /** by step (`step [item]` for worklist items): lost and failed launches */
  relaunches?: Record<string, Relaunches>;
  /** answers people gave: who, when, where they routed (the most recent ones) */
  answers?: AnswerRecord[];
  /** reviews of the run's pull request that reached it, and what became of each (the most recent ones) */
  reviews?: ReviewRecord[];
  /** events emitted so far (numbers the listeners' task ids); absent before events existed */
  eventsEmitted?: number;
  /** a repo.url run: where it works now and the last commit pushed (changes when its worker is lost) */
  placement?: Placement;
  /** harness sessions kept by slot (`session:` step / item / run / name): resumed by the next execution */
  sessions?: Record<string, SessionSlot>;
  /**
   * what the child runs of `kind: sop` steps used (with their own children), added as each ended; counted
   * against this run's budgets. Absent until a child ended (and in runs started before it was counted).
   */
  childUsage?: RunUsage;
  /** reports this run (a child of a `kind: sop` step) sent its parent: numbers the next one */
  childReports?: number;
  /** deliveries to the forge (`deliver:`): the run's pull request, what was written, refused agent requests */
  forge?: ForgeRunState;
}
