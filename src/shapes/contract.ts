// What crosses between the interpreter workflow and its activities. Everything here is small: paths,
// sizes, hashes, outcomes and counters — transcripts and artifacts stay in the run folder.

import type { AgentAllowance } from './deliveries';
import type { Denial } from './denial';
import type { ArtifactSpec, Provider, RoleSpec, RouteSpec } from './execution-plan';
import type { LiveActivity } from './live-activity';
import type { McpCall, McpCallCount } from './mcp-call';

export type Role = 'agent' | 'producer' | 'verifier';

export interface WorkItem {
  id: string;
  title: string;
  status: string;
}

/** Where a run lives: ids, workspace and run folder (both absolute). */
export interface RunRef {
  sop: string;
  taskId: string;
  workspace: string;
  /** absolute; `.sop/runs/<sop>/<task>` inside the workspace unless overridden */
  runFolder: string;
}

/** Template scope of one agent execution (rendered into the prompt by the activity). */
export interface PromptContext {
  input: Record<string, unknown>;
  params: Record<string, unknown>;
  item?: WorkItem & { key: string };
  /** outcomes of steps that ran before, by step name */
  steps: Record<string, { route: string; payload: unknown }>;
  step: { name: string; rework: number; attempt: number };
}

export interface AgentStepRequest {
  run: RunRef;
  step: string;
  role: Role;
  attempt: number;
  /** counts every execution of this step (and item), for unique file names in the run folder */
  execution: number;
  spec: RoleSpec;
  /** legal routes (producer: implicit `done`) */
  routes: RouteSpec[];
  /** every artifact this role writes or a route of it requires, with its spec */
  artifacts: ArtifactSpec[];
  context: PromptContext;
  /** what the runtime has to say: protocol feedback, verifier findings, answers, injected messages */
  feedback: string[];
  timeoutMs: number;
  /**
   * Set by runs that relaunch in the workflow (worker-loss patch): a failed harness launch comes back as
   * a result (`launchFailure`) instead of an activity failure, and the step timeout is enforced here.
   */
  relaunchInWorkflow?: boolean;
  /** which launch of this attempt this is (1-based; set with relaunchInWorkflow) */
  launch?: number;
  /** earlier launches of this step whose worker was lost: recorded in executions.jsonl by this one */
  lostLaunches?: LostLaunch[];
  /** artifacts the producer of this iteration wrote (name -> sha256): fresh for the verifier too */
  writtenByProducer?: Record<string, string>;
  /** verifier: artifacts its routes require that the producer writes (missing ones are rework, not its fault) */
  ownedByProducer?: string[];
  /** the role keeps its harness session in a slot (`session:` other than fresh) */
  session?: SessionRequest;
  /** parallel work: the git worktree this execution works in instead of the workspace (worktrees.ts) */
  worktree?: Worktree;
  /** what this role may ask the runtime to deliver in its outcome (the SOP's `deliver.agent:`) */
  deliver?: AgentAllowance;
}

/** Running totals a harness session reported so far (both harnesses report cumulative usage on resume). */
export interface SessionTotals {
  inputTokens: number;
  /** part of inputTokens read from the provider's cache (Codex prices it apart) */
  cachedInputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** A session slot's state in the workflow: the harness session to resume and what it used so far. */
export interface SessionSlot {
  provider: Provider;
  sessionId: string;
  totals: SessionTotals;
}

export interface SessionRequest {
  /** e.g. `step:implement`, `item:review:42`, `run`, `name:builder` */
  slot: string;
  /** the session this slot holds (absent: the slot is new) */
  resume?: SessionSlot;
  /** why the slot's session is not resumed although it has one (another execution holds it, another harness) */
  freshReason?: string;
  /** another execution runs in the slot right now: this one runs fresh and leaves the slot as it is */
  busy?: boolean;
}

/** What an execution did with its session slot: recorded in evidence, executions.jsonl and workflow state. */
export interface SessionReport {
  slot: string;
  /** the harness session this execution ran in (absent when the harness never started one) */
  sessionId?: string;
  resumed: boolean;
  /** why a slot that had a session started a fresh one */
  freshReason?: string;
  /** the session's running totals after this execution */
  totals?: SessionTotals;
}

/**
 * A git worktree of its own for one worklist item (concurrency > 1) or one step of a parallel `after:`
 * branch, under `<workspace>/.sop/worktrees/`, on a branch of its own, merged back when accepted.
 */
export interface Worktree {
  /** absolute */
  path: string;
  /** e.g. `sop/ralph_loop/t1--implement-item-2` */
  branch: string;
  /** the run's commit it was branched from (a snapshot of the workspace at that moment) */
  base: string;
}

export interface OpenWorktreeRequest {
  run: RunRef;
  /** unique within the run: step, or step and item */
  key: string;
  /** the run's last commit (the snapshot or merge before); the workspace's HEAD when absent */
  head?: string;
  /**
   * commit the workspace's files first (they may have changed since `head`: work ran in place); without
   * it the worktree is branched from `head` itself
   */
  snapshot?: boolean;
}

/** `unavailable`: why the work runs in place instead (the workspace is not the top of a git repository). */
export type OpenWorktreeResult = { worktree: Worktree; head: string } | { unavailable: string };

export interface MergeWorktreeRequest {
  run: RunRef;
  worktree: Worktree;
  head?: string;
  /** leave the worktree in place once merged: a child run of a `kind: sop` step keeps its run folder there */
  keep?: boolean;
}

/**
 * `merged`: the worktree's work is in the workspace (and the worktree removed); `conflicts`: files both
 * changed, left with conflict markers in the worktree (merged with the run's state) for the producer.
 */
export type MergeWorktreeResult =
  | { merged: true; head: string; commit: string; files: number }
  | { merged: false; head: string; conflicts: string[] };

/** A launch that never reported back: its worker died (or stopped) while the harness ran. */
export interface LostLaunch {
  step: string;
  item?: string;
  role: Role;
  provider: Provider;
  execution: number;
  attempt: number;
  launch: number;
  /** e.g. "heartbeat timeout" */
  reason: string;
}

export interface ArtifactReport {
  name: string;
  /** workspace-relative, rendered */
  path: string;
  exists: boolean;
  /** written (modified) during this execution */
  fresh: boolean;
  valid: boolean;
  error?: string;
  sha256?: string;
  size?: number;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface AgentStepResult {
  /** the structured outcome, when the harness produced a parseable one */
  outcome?: { route: string; payload: unknown };
  /** why no usable outcome came back (shown to the agent on the next attempt) */
  outcomeError?: string;
  /**
   * the harness launch itself failed (crash, hang, step timeout, model API error): no outcome; the
   * workflow launches again up to the step's max_launch_failures
   */
  launchFailure?: string;
  artifacts: ArtifactReport[];
  /** policy violations found after the execution (writes outside allow_write, deny_write) */
  violations: string[];
  /** denied or blocked tool calls (the first DENIALS_IN_RESULT; all of them are in the evidence file) */
  denials?: Denial[];
  /** how many tool calls were denied or blocked in all */
  deniedCalls?: number;
  /** MCP tool calls of the execution (the first MCP_CALLS_IN_RESULT; all of them are in the evidence file) */
  mcpCalls?: McpCall[];
  /** how many MCP tool calls it made in all, and how many were denied */
  mcpCallCount?: McpCallCount;
  usage: Usage;
  provider: Provider;
  sessionId?: string;
  /** the role's session slot: which session ran, resumed or fresh */
  session?: SessionReport;
  /** run-folder-relative paths of the rendered prompt, transcript and evidence */
  files: { prompt: string; transcript?: string; evidence?: string };
  /** sha256 of the evidence file: recorded in history, so an edited run folder can be caught */
  evidenceSha256?: string;
  /** the executions.jsonl lines this activity appended (its own, and lost launches it recorded) */
  lines?: LineWritten[];
  durationMs: number;
  /**
   * the live view as the harness ended: its last actions (at most LIVE_ACTIONS_KEPT, each text capped and
   * redacted), those a follower may not have read from a heartbeat and those a page of the ended run shows
   */
  live?: LiveActivity;
}

/**
 * An executions.jsonl line as the activity that appended it reports it: the line's `path` field and the
 * sha256 of the line (without its newline). In history, so `sop verify --against-history` checks every line.
 */
export interface LineWritten {
  path: string;
  sha256: string;
}

/** Denials an activity result carries into history at most (the evidence file has every one). */
export const DENIALS_IN_RESULT = 20;

export interface CommandStepRequest {
  run: RunRef;
  step: string;
  execution: number;
  command: string;
  timeoutMs: number;
  /** `env:` of the step: `${{ secrets.NAME }}` in a value is filled on the worker, never in history */
  env?: Record<string, string>;
  /** the SOP's declared secrets: the command does not inherit them from the worker's environment */
  secrets?: string[];
}

export interface CommandStepResult {
  exitCode: number;
  timedOut: boolean;
  /** run-folder-relative file with the full output */
  outputFile: string;
  /** sha256 of that file as written (absent in runs from before it was recorded) */
  outputSha256?: string;
  /** its executions.jsonl line */
  lines?: LineWritten[];
  /** last lines of the output, bounded, for the next prompt */
  tail: string;
  durationMs: number;
}

export interface WorklistRequest {
  run: RunRef;
  worklist: { from: ArtifactSpec; collection: string; id: string; title: string; status: string };
}

/** `sop rerun --step S [--item ID]`: items of S's worklist set back to pending (all when no ids given). */
export interface ReopenItemsRequest extends WorklistRequest {
  itemIds?: string[];
}

export interface CompleteItemRequest extends WorklistRequest {
  itemId: string;
  status: string;
}

/** Ask for a bounded window of pending items, leaving out the ones in flight. */
export interface WorklistWindowRequest extends WorklistRequest {
  exclude: string[];
  limit: number;
}

export interface CompleteItemWindowRequest extends CompleteItemRequest {
  exclude: string[];
  limit: number;
}

/** The next pending items (at most `limit`) and counts: small, however long the worklist is. */
export interface WorklistWindow {
  pending: WorkItem[];
  done: number;
  total: number;
}

/** Thrown by the agent activity (as ApplicationFailure type) when the provider says: not before resetAt. */
export const RATE_LIMITED = 'SopRateLimited';
export interface RateLimitDetails {
  resetAtMs: number;
  message: string;
  /** the parked launch's evidence record (run-folder-relative) and its sha256 (runs that relaunch in the workflow) */
  evidence?: string;
  evidenceSha256?: string;
  /** the executions.jsonl lines the parked launch appended */
  lines?: LineWritten[];
}

/** Thrown by the agent activity (as ApplicationFailure type) when its worker shuts down mid-launch. */
export const WORKER_STOPPED = 'SopWorkerStopped';
