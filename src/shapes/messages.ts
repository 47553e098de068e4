// Messages a run understands. Shared by the workflow (handlers) and the client (senders).

import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AgentQuestion } from '../shapes/agent-question';
import type { McpCallCount } from '../shapes/mcp-call';
import type { Usage } from './contract';
import type { ForgeRunState } from './deliveries';
import type { JsonSchema } from './execution-plan';
import type { ForgeReview, ReviewRecord } from './forge-review';
import type { AnswerInput, ChildStatus, ToolApprovalAsk, WaitingIn } from './message-args';
import type { AnswerRecord, DeniedCall, Relaunches, RouteTaken, RunCheckpoint, RunStatus } from './run';
import type { Placement } from './workspace';

export type { AnswerRecord };

import type { ExecutionLabel } from './execution-label';

export interface PendingInput {
  requestId: string;
  step: string;
  item?: string;
  question: string;
  schema: JsonSchema;
  /** `input` (absent in runs started before tool approvals): an SOP question; `tool_approval`: a tool call */
  kind?: 'input' | 'tool_approval';
  /** the routes the answer can take (approved / rejected, the values of route_on), when it routes */
  routes?: string[];
  /** tool_approval: the call waiting for a person */
  tool?: ToolCallView;
  /** input: the question the agent wrote (agent_asks), with its reason, shown next to `question` */
  agentQuestion?: AgentQuestion;
}

/** A tool call a step's `ask:` policy holds until a person approves it (its input: long values cut). */
export type ToolCallView = ToolApprovalAsk['tool'];
export type { ToolApprovalAsk };

/** What the run decided on a tool approval (the agent activity polls for it). */
export interface ToolApprovalDecision {
  approve: boolean;
  guidance?: string;
  /** the update that carried the answer (its caller identity is in history); absent for signals */
  updateId?: string;
}

/** One execution running now (a role of a step, for an item), as the status view and the Web UI show it. */
export interface ActiveRole extends ExecutionLabel {
  /** parked on a provider rate limit until then (ms since the epoch); the harness runs again after */
  rateLimitedUntilMs?: number;
  /** waiting for a quota lease: `waiting for quota codex/gpt-5: 2 of 2 in use, 3rd in line` */
  waitingForQuota?: string;
}

export interface RunStatusView {
  sop: string;
  taskId: string;
  bundleHash: string;
  status: RunStatus;
  /** steps running right now (several in a DAG or with worklist concurrency) */
  active: ActiveRole[];
  worklists: Record<string, { done: number; total: number }>;
  routesTaken: RouteTaken[];
  /** how many routes were taken in all (routesTaken keeps the most recent ones) */
  routesTakenCount: number;
  pendingInput?: PendingInput;
  /** every request waiting for an answer (pendingInput is the first) */
  pendingInputs?: PendingInput[];
  /** answers received so far (the most recent ones) */
  answers?: AnswerRecord[];
  /** reviews of the run's pull request and `/sop rework` comments, and what became of each (the most recent) */
  reviews?: ReviewRecord[];
  usage: Usage & { agentRuns: number };
  /** tool calls denied or blocked in the whole run */
  deniedCalls: number;
  /** the most recent of them (DENIALS_KEPT) */
  denials: DeniedCall[];
  /** MCP tool calls of the whole run and how many were denied (absent when it made none) */
  mcpCalls?: McpCallCount;
  /** by step (`step [item]` for worklist items); absent in runs started before it existed */
  relaunches?: Record<string, Relaunches>;
  /** a repo.url run: its run branch, last pushed commit and the worker it works on */
  placement?: Placement;
  failure?: string;
  /** the run's SOP is being resolved on a worker (nothing has run yet) */
  resolving?: true;
  /** waiting_input because a person is awaited in a child run of a `kind: sop` step (not in this run) */
  waitingIn?: WaitingIn;
  /** what the child runs of `kind: sop` steps that ended used (with their own children) */
  childUsage?: Usage & { agentRuns: number };
  /**
   * a run with deliveries (`deliver:`): its pull request (number, url, repo: what a review gate waits on),
   * the forge writes made, the agent requests refused, and the rate limit's reset while the run is parked
   */
  forge?: ForgeRunState;
}

/**
 * Answer a pending request; rejected synchronously (nothing recorded) when it does not fit the schema.
 * Every argument is checked against its zod schema (src/shapes/message-args.ts) before anything else.
 */
export const answerUpdate = defineUpdate<{ accepted: true }, [AnswerInput]>('answer');
/** Fire-and-forget twin of `answer` for senders that cannot wait (web hooks, the Web UI). */
export const answerSignal = defineSignal<[AnswerInput]>('submitAnswer');
/** The agent activity asks its own run for a person's decision on a tool call (policy `ask:`). */
export const toolApprovalSignal = defineSignal<[ToolApprovalAsk]>('toolApproval');
/** The agent activity gave up waiting (timeout, cancellation): the request is no longer pending. */
export const toolApprovalWithdrawnSignal =
  defineSignal<[{ requestId: string; reason: string }]>('toolApprovalWithdrawn');
/** The decision on a tool approval, once a person answered (null until then). */
export const toolDecisionQuery = defineQuery<ToolApprovalDecision | null, [string]>('toolDecision');
/** A child run of a `kind: sop` step tells its parent whether a person is awaited in it (message-args.ts). */
export const childStatusSignal = defineSignal<[ChildStatus]>('childStatus');
/**
 * A review of the run's pull request, or a `/sop rework` comment on it, from `sop serve`'s shared GitHub hook
 * (src/model/forge-review.ts): answers a waiting review gate, or goes into the next prompt.
 */
export const forgeReviewSignal = defineSignal<[ForgeReview]>('forgeReview');
/** Text injected into the next agent prompt of the run. */
export const messageSignal = defineSignal<[string]>('message');
export const statusQuery = defineQuery<RunStatusView>('status');
/** The state an execution reached and its original input, for `sop resume` / `sop rerun` (any status). */
export const checkpointQuery = defineQuery<RunCheckpoint>('checkpoint');
