// The live actions in the harnesses' streams as they arrive: Codex `exec --json` items (HARNESSES.md §3.1)
// and Claude Code `stream-json` messages (§2.3.4), each turned into LiveRecorder actions. The full
// transcript is written as before; this reads the same lines once more, keeping only what a person watches.

import type { Denial } from '../shapes/denial';
import { MCP_SERVER_NAME } from './approval/channel';
import { DenialCollector, type DenialContext } from './denials';
import { inputText, type LiveRecorder, workspacePath } from './live-activity';
import { splitMcpName } from './mcp-calls';

type Event = Record<string, unknown>;

/** Denials a parser found, each reported once as a live action. */
class DenialFeed {
  private shown = 0;
  constructor(private readonly recorder: LiveRecorder) {}

  update(all: Denial[]): void {
    for (const d of all.slice(this.shown)) {
      this.recorder.add({
        kind: 'denial',
        tool: d.tool,
        reason: d.target ? `${d.target}: ${d.reason}` : d.reason,
      });
    }
    this.shown = Math.max(this.shown, all.length);
  }
}

/** `/bin/bash -lc 'npm test'` as `npm test` (Codex wraps every command in a shell). */
function unwrapShell(command: string): string {
  const m = /^(?:\/usr)?(?:\/bin\/)?(?:ba|z)?sh -l?c '([\s\S]*)'$/.exec(command);
  return m ? m[1].replace(/'\\''/g, "'") : command;
}

export class CodexLiveParser {
  private readonly denials: DenialCollector;
  private readonly feed: DenialFeed;

  constructor(
    private readonly recorder: LiveRecorder,
    private readonly ctx: DenialContext,
    /** a resumed session's running totals before this execution (Codex reports the thread's totals) */
    private readonly before?: { inputTokens: number; outputTokens: number },
  ) {
    this.denials = new DenialCollector(ctx);
    this.feed = new DenialFeed(recorder);
  }

  event(event: Event): void {
    if (event.type === 'turn.completed') {
      const u = (event.usage ?? {}) as Record<string, number>;
      this.recorder.setTokens(
        (u.input_tokens ?? 0) - (this.before?.inputTokens ?? 0),
        (u.output_tokens ?? 0) - (this.before?.outputTokens ?? 0),
      );
      return;
    }
    if (event.type !== 'item.started' && event.type !== 'item.completed') return;
    const item = (event.item ?? {}) as Record<string, unknown>;
    const done = event.type === 'item.completed';
    switch (item.type) {
      case 'command_execution': {
        const command = unwrapShell(String(item.command ?? ''));
        if (!done) {
          this.recorder.add({ kind: 'command', phase: 'started', command });
          return;
        }
        const output = String(item.aggregated_output ?? '');
        this.recorder.add({
          kind: 'command',
          phase: 'finished',
          command,
          ...(typeof item.exit_code === 'number' ? { exitCode: item.exit_code } : {}),
          ...(output.trim() ? { output } : {}),
        });
        this.denials.addOutput(String(item.id), 'exec_command', command, output);
        this.feed.update(this.denials.list());
        return;
      }
      case 'file_change': {
        // a patch that could not be applied ends "failed": nothing was written
        if (!done || item.status === 'failed') return;
        for (const change of (item.changes as Array<{ path?: string; kind?: string }>) ?? []) {
          const kind = change.kind === 'add' || change.kind === 'delete' ? change.kind : 'update';
          this.recorder.add({
            kind: 'file',
            change: kind,
            path: workspacePath(this.ctx.workspace, String(change.path ?? '')),
          });
        }
        return;
      }
      case 'mcp_tool_call': {
        if (item.server === MCP_SERVER_NAME) return;
        const call = {
          kind: 'tool' as const,
          server: String(item.server ?? ''),
          tool: String(item.tool ?? ''),
        };
        if (!done) {
          this.recorder.add({ ...call, phase: 'started', input: mcpInput(item.arguments) });
          return;
        }
        const error = (item.error as { message?: string } | undefined)?.message;
        this.recorder.add({ ...call, phase: 'finished', ...(error ? { error } : {}) });
        return;
      }
      case 'agent_message':
        if (done && String(item.text ?? '').trim())
          this.recorder.add({ kind: 'message', text: String(item.text) });
        return;
    }
  }
}

const FILE_TOOLS: Record<string, 'write' | 'edit'> = {
  Write: 'write',
  Edit: 'edit',
  MultiEdit: 'edit',
  NotebookEdit: 'edit',
};

export class ClaudeLiveParser {
  private readonly calls = new Map<string, { name: string; input: Record<string, unknown> }>();
  /** each model message's usage (stream-json repeats a message once per content block) */
  private readonly usage = new Map<string, { input: number; output: number }>();
  private readonly feed: DenialFeed;

  constructor(
    private readonly recorder: LiveRecorder,
    private readonly workspace: string,
    /** the denials the transcript parser has found so far */
    private readonly denials: () => Denial[],
  ) {
    this.feed = new DenialFeed(recorder);
  }

  event(event: Event): void {
    if (event.type === 'assistant') this.assistant(event);
    else if (event.type === 'user') this.results(event);
    this.feed.update(this.denials());
  }

  private assistant(event: Event): void {
    const message = (event.message ?? {}) as { id?: string; usage?: Record<string, number> };
    if (message.id && message.usage) {
      const u = message.usage;
      this.usage.set(message.id, {
        input:
          (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0),
        output: u.output_tokens ?? 0,
      });
      let input = 0;
      let output = 0;
      for (const v of this.usage.values()) {
        input += v.input;
        output += v.output;
      }
      this.recorder.setTokens(input, output);
    }
    for (const block of contentOf(event)) {
      if (block.type === 'text' && String(block.text ?? '').trim()) {
        this.recorder.add({ kind: 'message', text: String(block.text) });
      }
      if (block.type !== 'tool_use') continue;
      const name = String(block.name);
      const input = (block.input as Record<string, unknown>) ?? {};
      this.calls.set(String(block.id), { name, input });
      const mcp = splitMcpName(name);
      if (name === 'Bash') {
        this.recorder.add({ kind: 'command', phase: 'started', command: String(input.command ?? '') });
      } else if (mcp) {
        if (mcp.server === MCP_SERVER_NAME) continue;
        this.recorder.add({
          kind: 'tool',
          phase: 'started',
          server: mcp.server,
          tool: mcp.tool,
          input: mcpInput(input),
        });
      } else if (!FILE_TOOLS[name] && name !== 'StructuredOutput') {
        const text = inputText(input);
        this.recorder.add({ kind: 'tool', phase: 'started', tool: name, ...(text ? { input: text } : {}) });
      }
    }
  }

  private results(event: Event): void {
    for (const block of contentOf(event)) {
      if (block.type !== 'tool_result') continue;
      const call = this.calls.get(String(block.tool_use_id));
      if (!call) continue;
      const failed = block.is_error === true;
      const text = textOf(block.content);
      const mcp = splitMcpName(call.name);
      if (call.name === 'Bash') {
        const result = event.tool_use_result as { stdout?: string; stderr?: string } | undefined;
        const output =
          result && typeof result === 'object'
            ? [result.stdout, result.stderr].filter((s) => s?.trim()).join('\n')
            : text;
        const exit = failed ? /Exit code (\d+)/.exec(text)?.[1] : '0';
        this.recorder.add({
          kind: 'command',
          phase: 'finished',
          command: String(call.input.command ?? ''),
          ...(exit !== undefined ? { exitCode: Number(exit) } : {}),
          ...(output.trim() ? { output } : {}),
        });
      } else if (FILE_TOOLS[call.name] && !failed) {
        const file = String(call.input.file_path ?? call.input.notebook_path ?? '');
        this.recorder.add({
          kind: 'file',
          change: FILE_TOOLS[call.name],
          path: workspacePath(this.workspace, file),
        });
      } else if (mcp && mcp.server !== MCP_SERVER_NAME) {
        this.recorder.add({
          kind: 'tool',
          phase: 'finished',
          server: mcp.server,
          tool: mcp.tool,
          ...(failed ? { error: text || 'failed' } : {}),
        });
      }
    }
  }
}

/**
 * An MCP call's arguments as their names and size only: like the evidence (mcp-calls.ts), the live view never
 * carries their values, which may hold what the agent read.
 */
function mcpInput(args: unknown): string {
  let value = args;
  if (typeof args === 'string') {
    try {
      value = JSON.parse(args);
    } catch {
      return `(${Buffer.byteLength(args)} bytes)`;
    }
  }
  const json = JSON.stringify(value ?? {});
  const names = value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  return `${names.length ? `${names.join(', ')} ` : ''}(${Buffer.byteLength(json)} bytes)`;
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
