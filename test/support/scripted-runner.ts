import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LiveActionInput } from '../../src/harnesses/live-activity';
import type {
  AgentExecution,
  AgentRunner,
  AgentRunResult,
  ToolApprovalRecord,
} from '../../src/harnesses/runner';
import type { Denial } from '../../src/shapes/denial';
import { durationMs } from '../../src/shapes/duration';
import type { McpCall } from '../../src/shapes/mcp-call';
import { RateLimitError } from '../../src/shapes/rate-limit';
import { renderText } from '../../src/shapes/render-text';

/** What the stand-in "agent" does in one execution. */
export interface ScriptedTurn {
  /** files to write, workspace-relative (templates allowed: {{ run.folder }}, {{ item.id }}) */
  write?: Record<string, string | object>;
  route?: string;
  summary?: string;
  details?: string;
  /** simulate a harness that returned no usable outcome */
  outcomeError?: string;
  /** deliveries the agent asks for in its outcome (`deliver` beside the route) */
  deliver?: { comments?: string[]; labels?: string[] };
  costUsd?: number;
  tokens?: number;
  delayMs?: number;
  violations?: string[];
  /** answer like a provider saying 429: not before this many ms from now */
  rateLimitMs?: number;
  /** the harness crashes with this message (a failed launch) */
  crash?: string;
  /**
   * a tool call the step's `ask:` policy holds, as Claude Code's permission prompt relays it: the turn waits for
   * a person's decision first (as long as the policy's ask_timeout); `write` happens only when the call is
   * approved, and a denied call is recorded as a denial
   */
  askTool?: { name: string; input: Record<string, unknown> };
  /** tool calls the harness reports as denied or blocked */
  denials?: Denial[];
  /** the outcome's question for a person (agent_asks routes), as the agent writes it */
  ask?: unknown;
  /** MCP tool calls the harness reports (a denied one belongs in `denials` too, as the adapters report it) */
  mcpCalls?: McpCall[];
  /** live actions the agent reports as the turn starts (heartbeated at once) */
  actions?: LiveActionInput[];
  /** a live action the agent reports as the turn ends, right before its result: no heartbeat carries it */
  lastAction?: LiveActionInput;
}

export interface RecordedCall {
  key: string;
  step: string;
  role: string;
  item?: string;
  attempt: number;
  prompt: string;
  startedAt: number;
  endedAt: number;
  aborted: boolean;
  /** the person's decision on the turn's `askTool` */
  approved?: boolean;
}

/**
 * The scripted stand-in for a harness (issue 4 tests the interpreter with it; the real Codex and Claude
 * adapters replace it). Turns are looked up by `step/role` or `step/item/role`, consumed in order; a
 * function computes a turn from the call. It writes real files in the workspace, so the runtime's artifact
 * checks are the real ones.
 */
export class ScriptedRunner implements AgentRunner {
  readonly calls: RecordedCall[] = [];
  private readonly cursor = new Map<string, number>();

  constructor(
    private readonly script: Record<string, ScriptedTurn[] | ((call: RecordedCall) => ScriptedTurn)>,
  ) {}

  async run(execution: AgentExecution): Promise<AgentRunResult> {
    const { request } = execution;
    const item = request.context.item?.id;
    const keys = [
      item ? `${request.step}/${item}/${request.role}` : undefined,
      `${request.step}/${request.role}`,
    ];
    const key = keys.find((k) => k && this.script[k]) ?? keys[1]!;
    const call: RecordedCall = {
      key,
      step: request.step,
      role: request.role,
      item,
      attempt: request.attempt,
      prompt: execution.prompt,
      startedAt: Date.now(),
      endedAt: 0,
      aborted: false,
    };
    this.calls.push(call);
    const entry = this.script[key];
    if (!entry) throw new Error(`scripted runner: no script for ${key}`);
    let turn: ScriptedTurn;
    if (typeof entry === 'function') turn = entry(call);
    else {
      const index = this.cursor.get(key) ?? 0;
      this.cursor.set(key, index + 1);
      turn = entry[Math.min(index, entry.length - 1)];
    }
    if (turn.rateLimitMs) {
      call.endedAt = Date.now();
      throw new RateLimitError('429 Too Many Requests (scripted)', Date.now() + turn.rateLimitMs);
    }
    if (turn.crash) {
      call.endedAt = Date.now();
      throw new Error(turn.crash);
    }
    const approvals = turn.askTool
      ? [await ask(execution, turn.askTool, `toolu_scripted${this.calls.length}`)]
      : [];
    call.approved = approvals[0]?.approved;
    const denials = [
      ...(turn.denials ?? []),
      ...approvals
        .filter((a) => !a.approved)
        .map(
          (a): Denial => ({
            tool: a.tool,
            target: JSON.stringify(a.input),
            reason: a.reason ?? 'denied',
            source: 'permission',
          }),
        ),
    ];
    if (turn.actions?.length) {
      for (const action of turn.actions) execution.live?.add(action);
      execution.heartbeat();
    }
    if (turn.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, turn.delayMs);
        execution.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          call.aborted = true;
          resolve();
        });
      });
      if (call.aborted) throw new Error('aborted');
    }
    const scope = {
      // as the prompt names it: relative to the workspace, the same inside an item's worktree
      run: { folder: path.relative(request.run.workspace, request.run.runFolder) },
      item: request.context.item,
    };
    for (const [file, content] of call.approved === false ? [] : Object.entries(turn.write ?? {})) {
      const target = path.join(execution.workspace, renderText(file, scope));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    }
    fs.writeFileSync(execution.transcriptPath, `${JSON.stringify({ scripted: key, turn })}\n`);
    if (turn.lastAction) execution.live?.add(turn.lastAction);
    call.endedAt = Date.now();
    const tokens = turn.tokens ?? 100;
    return {
      outcome: turn.outcomeError
        ? undefined
        : {
            route: turn.route ?? 'done',
            payload: {
              summary: turn.summary ?? '',
              details: turn.details ?? '',
              ...(turn.ask === undefined ? {} : { ask: turn.ask }),
              ...(turn.deliver ? { deliver: turn.deliver } : {}),
            },
          },
      outcomeError: turn.outcomeError,
      usage: { inputTokens: tokens, outputTokens: tokens / 10, costUsd: turn.costUsd ?? 0.01 },
      violations: turn.violations,
      ...(approvals.length > 0 ? { approvals } : {}),
      ...(denials.length > 0 ? { denials } : {}),
      ...(turn.mcpCalls ? { mcpCalls: turn.mcpCalls } : {}),
      sessionId: `scripted-${this.calls.length}`,
    };
  }

  prompts(key: string): string[] {
    return this.calls.filter((c) => c.key === key).map((c) => c.prompt);
  }
}

/** Asks through the run as the activity's approval channel does for Claude Code, and records the verdict. */
async function ask(
  execution: AgentExecution,
  tool: NonNullable<ScriptedTurn['askTool']>,
  toolUseId: string,
): Promise<ToolApprovalRecord> {
  if (!execution.approveToolCall) throw new Error('scripted runner: nobody can be asked here');
  const verdict = await execution.approveToolCall(
    { tool_name: tool.name, input: tool.input, tool_use_id: toolUseId },
    // as Claude Code's adapter waits: the policy's ask_timeout, else 30 minutes
    durationMs(execution.spec.policy.ask_timeout ?? '30m'),
  );
  return {
    tool: tool.name,
    input: tool.input,
    toolUseId,
    approved: verdict.decision.behavior === 'allow',
    reason: verdict.decision.behavior === 'deny' ? verdict.decision.message : undefined,
    by: verdict.by,
    at: verdict.at,
    timedOut: verdict.timedOut,
  };
}
