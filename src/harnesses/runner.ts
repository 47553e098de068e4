import type { AgentStepRequest, SessionTotals, Usage } from '../shapes/contract';
import type { Denial } from '../shapes/denial';
import type { JsonSchema, Provider, RoleSpec } from '../shapes/execution-plan';
import type { ToolApprovalRequest, ToolDecision } from './approval/channel';
import type { LiveRecorder } from './live-activity';
import type { McpCall } from './mcp-calls';

/** One harness execution as the runtime hands it to a runner (a harness adapter, or a test stand-in). */
export interface AgentExecution {
  request: AgentStepRequest;
  spec: RoleSpec;
  /** the full prompt: the step's prompt plus the generated step contract */
  prompt: string;
  /** JSON Schema of the structured outcome (route + payload) */
  outcomeSchema: JsonSchema;
  workspace: string;
  /** absolute folder for this execution's files (prompt, transcript, evidence) */
  executionDir: string;
  /** absolute path the runner writes the harness transcript to */
  transcriptPath: string;
  signal: AbortSignal;
  /** tells Temporal the execution is alive; the details sent are the live view (`live`) where there is one */
  heartbeat(details?: unknown): void;
  /** the live view of this execution: the runner adds the actions it parses, then heartbeats */
  live?: LiveRecorder;
  /**
   * Asks a person whether a tool call the policy's `ask:` patterns match may run; resolves with the
   * decision (a timeout denies). Absent where nobody can be asked.
   */
  approveToolCall?(request: ToolApprovalRequest, timeoutMs: number): Promise<ToolCallVerdict>;
  /** the role keeps its session in a slot: the harness home to keep it in, and the session to resume */
  session?: ExecutionSession;
}

export interface ExecutionSession {
  slot: string;
  /** this slot's folder on this worker: the harness's own home goes inside and is kept */
  home: string;
  /** the harness session to continue (its files are in `home`); absent: start one */
  resumeId?: string;
  /** the resumed session's running totals before this execution (usage is reported as the difference) */
  before?: SessionTotals;
}

/** A person's decision on one tool call, as recorded in the evidence. */
export interface ToolCallVerdict {
  decision: ToolDecision;
  /** who answered (the Temporal client identity of the answer), or why nobody did */
  by?: string;
  at?: string;
  timedOut?: boolean;
}

export interface ToolApprovalRecord {
  tool: string;
  input: Record<string, unknown>;
  toolUseId?: string;
  approved: boolean;
  reason?: string;
  by?: string;
  at?: string;
  timedOut?: boolean;
}

export interface AgentRunResult {
  outcome?: { route: string; payload: unknown };
  outcomeError?: string;
  /** what this execution used (for a resumed session: the difference of the session's running totals) */
  usage: Usage;
  sessionId?: string;
  /** a slot's session (execution.session): its running totals after this execution */
  sessionTotals?: SessionTotals;
  /** denials the harness reported, and anything else the runner found against the policy */
  violations?: string[];
  /** effective configuration (argv, settings) with secrets redacted, for the evidence file */
  effectiveConfig?: unknown;
  /** tool calls the harness or its sandbox denied or blocked (parsed from the transcript) */
  denials?: Denial[];
  /** the outcome needed a corrective resumed turn (the first answer's problem) */
  corrected?: string;
  /** tool calls that waited for a person (policy `ask:`) and what was decided */
  approvals?: ToolApprovalRecord[];
  /** every call of a tool of the step's MCP servers (`tools:`), denied or not */
  mcpCalls?: McpCall[];
}

export interface AgentRunner {
  run(execution: AgentExecution): Promise<AgentRunResult>;
  /** whether the files of this session are in a slot's home (so `resumeId` can be resumed) */
  hasSession?(home: string, sessionId: string): boolean;
}

/** Thrown by a runner when retrying cannot help (credentials refused, harness cannot start as configured). */
export class HarnessFatalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HarnessFatalError';
  }
}

export type AgentRunners = Partial<Record<Provider, AgentRunner>>;
