// Denied and blocked tool calls of a Codex execution. Codex's --json stream leaves out rejected patches and
// some sandbox-blocked commands (docs/harnesses.md), so the session's rollout file is the source:
// every tool call with its output. Without a rollout (nothing was written), the JSONL command items are.

import * as fs from 'node:fs';
import type { Denial } from '../shapes/denial';
import { DenialCollector, type DenialContext } from './denials';
import { type McpCall, mcpCall } from './mcp-calls';

interface Call {
  name: string;
  /** the rollout line's time (ms), when it has one */
  atMs?: number;
  /** exec_command: the command; apply_patch: the files the patch touches; an MCP tool: its server */
  target: string;
  mcp?: boolean;
  arguments?: unknown;
}

/** An MCP call's result text as Codex gave it to the model, without its "Wall time" header item. */
function mcpResult(output: unknown): string {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) return JSON.stringify(output ?? '');
  return (output as Array<{ text?: unknown }>)
    .map((item) => (typeof item.text === 'string' ? item.text : ''))
    .filter((text) => !text.startsWith('Wall time:'))
    .join('');
}

/** The denials and the MCP tool calls (denied or not) of a Codex execution. */
export function codexToolRecords(
  ctx: DenialContext,
  files: { rollout?: string; transcript: string },
): { denials: Denial[]; mcpCalls: McpCall[] } {
  const collector = new DenialCollector(ctx);
  const mcp: McpCall[] = [];
  if (files.rollout) fromRollout(files.rollout, collector, mcp);
  else fromTranscript(files.transcript, collector);
  return { denials: collector.list(), mcpCalls: mcp };
}

function fromRollout(file: string, collector: DenialCollector, mcp: McpCall[]): void {
  const calls = new Map<string, Call>();
  for (const line of jsonLines(file)) {
    const payload = line.payload as Record<string, unknown> | undefined;
    if (!payload) continue;
    const atMs = typeof line.timestamp === 'string' ? Date.parse(line.timestamp) : Number.NaN;
    const id = String(payload.call_id ?? '');
    if (payload.type === 'function_call' || payload.type === 'custom_tool_call') {
      // an MCP tool is a function of the namespace mcp__<server>
      const namespace = typeof payload.namespace === 'string' ? payload.namespace : undefined;
      const mcp = namespace?.startsWith('mcp__');
      calls.set(id, {
        name: mcp ? `${namespace}__${payload.name}` : String(payload.name),
        target: mcp ? namespace!.slice('mcp__'.length) : targetOf(payload),
        mcp,
        arguments: payload.arguments,
        ...(Number.isNaN(atMs) ? {} : { atMs }),
      });
    } else if (payload.type === 'function_call_output' || payload.type === 'custom_tool_call_output') {
      const call = calls.get(id) ?? { name: 'unknown', target: '' };
      const output = typeof payload.output === 'string' ? payload.output : JSON.stringify(payload.output);
      const unsupported = /^unsupported call/.test(output.trim());
      if (call.mcp)
        mcp.push(
          mcpCall(
            call.target,
            call.name.split('__').slice(2).join('__'),
            call.arguments,
            mcpResult(payload.output),
            unsupported,
            call.atMs === undefined || Number.isNaN(atMs) ? undefined : atMs - call.atMs,
          ),
        );
      if (call.mcp && unsupported) {
        // a tool the step's tools: do not allow (or of a server it does not list) is no function Codex has
        collector.add(id, {
          tool: call.name,
          target: call.target,
          reason: `not in the step's tools: allowlist (${output.trim().split('\n')[0]})`,
          source: 'disabled_tool',
        });
      } else if (/^patch rejected/i.test(output.trim())) {
        collector.add(id, {
          tool: call.name,
          target: call.target,
          reason: output.trim().split('\n')[0],
          source: 'sandbox',
        });
      } else {
        collector.addOutput(id, call.name, call.target, output);
      }
    }
  }
}

function fromTranscript(file: string, collector: DenialCollector): void {
  for (const event of jsonLines(file)) {
    const item = event.item as Record<string, unknown> | undefined;
    if (event.type !== 'item.completed' || item?.type !== 'command_execution') continue;
    collector.addOutput(
      String(item.id),
      'exec_command',
      String(item.command ?? ''),
      String(item.aggregated_output ?? ''),
    );
  }
}

function targetOf(call: Record<string, unknown>): string {
  if (call.type === 'custom_tool_call') {
    // apply_patch: "*** Add File: x", "*** Update File: y", "*** Delete File: z"
    const files = [...String(call.input ?? '').matchAll(/^\*\*\* (?:Add|Update|Delete) File: (.+)$/gm)];
    return files.map((m) => m[1].trim()).join(', ');
  }
  try {
    const args = JSON.parse(String(call.arguments ?? '{}')) as { cmd?: unknown; command?: unknown };
    const cmd = args.cmd ?? args.command;
    return Array.isArray(cmd) ? cmd.join(' ') : String(cmd ?? '');
  } catch {
    return '';
  }
}

function jsonLines(file: string): Array<Record<string, unknown>> {
  if (!fs.existsSync(file)) return [];
  const out: Array<Record<string, unknown>> = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a torn last line: nothing to learn from it
    }
  }
  return out;
}
