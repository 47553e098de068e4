// Denied and blocked tool calls in a Claude Code stream-json transcript (docs/harnesses.md). Claude ends a
// run with denials as "success", so every trace is read: `system/permission_denied` events, tool results
// the permission system rejected (`tool_result_meta … decision: "reject"`), calls to a tool disabled for the
// session ("No such tool available: Write. Write is disabled …"), what the sandbox refused inside a Bash
// command's output, and `result.permission_denials`.

import { MCP_SERVER_NAME } from './approval/channel';
import { DenialCollector, type DenialContext } from './denials';
import { type McpCall, mcpCall, splitMcpName } from './mcp-calls';

type Event = Record<string, unknown>;
interface Call {
  name: string;
  input: Record<string, unknown>;
}

export class ClaudeDenialParser {
  private readonly calls = new Map<string, Call>();
  /** MCP tool calls by id, in call order, with the text of their result once it arrived */
  private readonly mcp = new Map<string, string | undefined>();
  /** when each MCP call was seen in the stream, and when its result was (ms) */
  private readonly mcpTimes = new Map<string, { calledAt: number; answeredAt?: number }>();
  private readonly collector: DenialCollector;

  constructor(ctx: DenialContext) {
    this.collector = new DenialCollector(ctx);
  }

  /** One event of the stream, as it arrives (`atMs`: when; a transcript read afterwards has no times). */
  event(event: Event, atMs?: number): void {
    if (event.type === 'assistant') {
      for (const block of contentOf(event)) {
        if (block.type === 'tool_use') {
          this.calls.set(String(block.id), {
            name: String(block.name),
            input: (block.input as Record<string, unknown>) ?? {},
          });
          if (String(block.name).startsWith('mcp__') && !this.mcp.has(String(block.id))) {
            this.mcp.set(String(block.id), undefined);
            if (atMs !== undefined) this.mcpTimes.set(String(block.id), { calledAt: atMs });
          }
        }
      }
    } else if (event.type === 'system' && event.subtype === 'permission_denied') {
      this.permission(String(event.tool_use_id), String(event.tool_name), undefined, String(event.message));
    } else if (event.type === 'user') {
      const meta = (event.tool_result_meta as Array<Record<string, unknown>> | undefined) ?? [];
      for (const block of contentOf(event)) {
        if (block.type !== 'tool_result') continue;
        const id = String(block.tool_use_id);
        const call = this.calls.get(id);
        const text = textOf(block.content).replace(/<\/?tool_use_error>/g, '');
        if (this.mcp.has(id)) {
          this.mcp.set(id, textOf(block.content));
          const times = this.mcpTimes.get(id);
          if (times && atMs !== undefined) times.answeredAt = atMs;
        }
        const decision = (
          meta.find((m) => m.id === id)?.permission_decision as { decision?: string } | undefined
        )?.decision;
        if (block.is_error && /No such tool available/.test(text) && /disabled/.test(text)) {
          const tool = call?.name ?? /No such tool available: (\w+)/.exec(text)?.[1] ?? 'unknown';
          this.collector.add(id, {
            tool,
            target: targetOf(call?.input),
            reason: text.replace(/^Error: /, ''),
            source: 'disabled_tool',
          });
        } else if (block.is_error && call?.name.startsWith('mcp__') && /No such tool available/.test(text)) {
          // a tool of a server the step does not list (or lists without that tool): not given to Claude
          this.collector.add(id, {
            tool: call.name,
            target: call.name.split('__')[1] ?? '',
            reason: `not in the step's tools: allowlist (${text.replace(/^Error: /, '')})`,
            source: 'disabled_tool',
          });
        } else if (decision === 'reject') {
          this.permission(id, call?.name ?? 'unknown', call?.input, text.replace(/^Error: /, ''));
        } else if (call?.name === 'Bash') {
          const result = event.tool_use_result as { stdout?: string; stderr?: string } | string | undefined;
          const output =
            result && typeof result === 'object' ? `${result.stdout ?? ''}\n${result.stderr ?? ''}` : text;
          this.collector.addOutput(id, 'Bash', String(call.input.command ?? ''), output);
        }
      }
    } else if (event.type === 'result') {
      const denials = event.permission_denials as
        | Array<{ tool_name: string; tool_use_id: string; tool_input?: Record<string, unknown> }>
        | undefined;
      for (const d of denials ?? []) {
        this.permission(d.tool_use_id, d.tool_name, d.tool_input, 'denied by the permission settings');
      }
    }
  }

  list() {
    return this.collector.list();
  }

  /** Every MCP tool call (not the runtime's own approval server's), denied or not. */
  mcpCalls(): McpCall[] {
    const out: McpCall[] = [];
    for (const [id, result] of this.mcp) {
      const call = this.calls.get(id);
      const name = call && splitMcpName(call.name);
      if (!name || name.server === MCP_SERVER_NAME) continue;
      const times = this.mcpTimes.get(id);
      const took = times?.answeredAt === undefined ? undefined : times.answeredAt - times.calledAt;
      out.push(
        mcpCall(name.server, name.tool, call.input, result ?? '', this.collector.deniedCalls.has(id), took),
      );
    }
    return out;
  }

  private permission(id: string, tool: string, input: Record<string, unknown> | undefined, message: string) {
    this.collector.add(id, {
      tool,
      // an MCP tool (mcp__<server>__<tool>) is aimed at its server
      target: tool.startsWith('mcp__') ? tool.split('__')[1] : targetOf(input ?? this.calls.get(id)?.input),
      // Claude's own wording, without the advice to the model that follows it
      reason: message.split(/(?<=\.)\s+(?:IMPORTANT|You )/)[0],
      source: 'permission',
    });
  }
}

function contentOf(event: Event): Array<Record<string, unknown>> {
  const content = (event.message as { content?: unknown } | undefined)?.content;
  return Array.isArray(content) ? (content as Array<Record<string, unknown>>) : [];
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((c) => (typeof c?.text === 'string' ? c.text : '')).join('\n');
  return '';
}

/** What a call was aimed at, from its input: a path, a command, a URL, a pattern. */
function targetOf(input: Record<string, unknown> | undefined): string {
  if (!input) return '';
  for (const key of ['file_path', 'notebook_path', 'path', 'command', 'url', 'pattern', 'query']) {
    if (typeof input[key] === 'string') return input[key] as string;
  }
  return '';
}
