// What an agent execution is doing right now, as every client sees it: the agent activity heartbeats these
// details (a bounded ring of its latest actions, a sequence number and counters), and clients read them from
// the workflow's pending activities (describe → pendingActivities[].heartbeatDetails). Heartbeats add no
// history events: the full transcript stays in the run folder; this is only the live view.

import { z } from 'zod';

/** How many actions the heartbeat details keep (older ones are only in the transcript). */
export const LIVE_ACTIONS_KEPT = 20;
/** Longest text an action carries (a command, an output tail, an input, a message); longer is cut with "…". */
export const LIVE_TEXT_MAX = 300;

const text = z.string().max(LIVE_TEXT_MAX + 1);

const base = {
  /** 1, 2, 3 … per execution (launch): clients print each action once, in order, by its seq */
  seq: z.number().int().min(1),
  /** ISO time the worker saw the harness report it */
  at: z.string(),
};

export const LiveAction = z.discriminatedUnion('kind', [
  z.strictObject({
    ...base,
    kind: z.literal('command'),
    phase: z.enum(['started', 'finished']),
    /** the shell command (redacted, capped) */
    command: text,
    /** finished: the exit code (absent when the harness reports none, e.g. a command it stopped) */
    exitCode: z.number().int().optional(),
    /** finished: the last part of the output (redacted, capped) */
    output: text.optional(),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('file'),
    /** what was done to the file: added, updated, deleted (Codex patches), written or edited (Claude tools) */
    change: z.enum(['add', 'update', 'delete', 'write', 'edit']),
    /** workspace-relative where it is inside the workspace */
    path: text,
  }),
  z.strictObject({
    ...base,
    kind: z.literal('tool'),
    phase: z.enum(['started', 'finished']),
    /** the MCP server (absent for a harness's own tool, e.g. Claude's Read or Grep) */
    server: text.optional(),
    tool: text,
    /** started: the input as JSON (redacted, capped) */
    input: text.optional(),
    /** finished: the error the call ended with */
    error: text.optional(),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('denial'),
    tool: text,
    /** what was refused and why, as the harness said it (redacted, capped) */
    reason: text,
  }),
  z.strictObject({
    ...base,
    kind: z.literal('approval'),
    /** asked: a person is asked (policy `ask:`); decided: the answer came (or the wait timed out) */
    phase: z.enum(['asked', 'decided']),
    tool: text,
    input: text.optional(),
    approved: z.boolean().optional(),
    by: text.optional(),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('message'),
    /** the agent's text to the user (capped) */
    text,
  }),
]);
export type LiveAction = z.infer<typeof LiveAction>;

export const LiveCounts = z.strictObject({
  commands: z.number().int().min(0),
  files: z.number().int().min(0),
  tools: z.number().int().min(0),
  denials: z.number().int().min(0),
  approvals: z.number().int().min(0),
  messages: z.number().int().min(0),
});
export type LiveCounts = z.infer<typeof LiveCounts>;

/** The heartbeat details of an agent execution (the activity `agentStep` of a run's workflow). */
export const LiveActivity = z.strictObject({
  /** marks these details apart from other heartbeats (workspace provisioning heartbeats carry none) */
  live: z.literal(1),
  harness: z.string(),
  step: z.string(),
  role: z.string(),
  attempt: z.number().int(),
  item: z.string().optional(),
  sessionId: z.string().optional(),
  /** the seq of the newest action (0: none yet); actions before seq - actions.length are only in the transcript */
  seq: z.number().int().min(0),
  /** the newest actions, oldest first, at most LIVE_ACTIONS_KEPT */
  actions: z.array(LiveAction).max(LIVE_ACTIONS_KEPT),
  counts: LiveCounts,
  /** tokens so far in this execution, as far as the harness has reported them (Codex: at each turn's end) */
  tokens: z.strictObject({ input: z.number().int().min(0), output: z.number().int().min(0) }),
  /** harness events parsed so far */
  events: z.number().int().min(0),
  /** ISO time of these details */
  updatedAt: z.string(),
});
export type LiveActivity = z.infer<typeof LiveActivity>;

/** One running execution as a client sees it: where it is in the fleet, and its live details. */
export const LiveExecution = z.strictObject({
  workflowId: z.string(),
  runId: z.string(),
  activityId: z.string(),
  /** Temporal's attempt of the activity */
  activityAttempt: z.number().int(),
  /** ISO time the server got the latest heartbeat */
  lastHeartbeatAt: z.string().optional(),
  activity: LiveActivity,
});
export type LiveExecution = z.infer<typeof LiveExecution>;
