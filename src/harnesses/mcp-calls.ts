// Every call of an MCP tool in an execution, as recorded in the evidence and executions.jsonl: the server,
// the tool, the arguments' sha256 and size (never the arguments: they may hold what the agent read), the
// result's size, and whether the call was denied (a tool outside the step's allowlist, a server the step
// does not list, a person's or a rule's refusal). Parsed from the harness's own records after the execution:
// Claude Code's stream-json transcript, Codex's rollout (the only place its refused calls appear).

import { createHash } from 'node:crypto';
import type { McpCall } from '../shapes/mcp-call';

export type { McpCall } from '../shapes/mcp-call';

/** `mcp__<server>__<tool>` → its parts; undefined for any other tool name. */
export function splitMcpName(name: string): { server: string; tool: string } | undefined {
  const m = /^mcp__(.+?)__(.+)$/.exec(name);
  return m ? { server: m[1], tool: m[2] } : undefined;
}

/** The record of one call; `args` as the model sent them (an object, or the JSON text of one). */
export function mcpCall(
  server: string,
  tool: string,
  args: unknown,
  result: string,
  denied: boolean,
  durationMs?: number,
): McpCall {
  let value = args;
  if (typeof args === 'string') {
    try {
      value = JSON.parse(args);
    } catch {
      value = args;
    }
  }
  const text = JSON.stringify(value ?? {});
  return {
    server,
    tool,
    argumentsSha256: createHash('sha256').update(text).digest('hex'),
    argumentsBytes: Buffer.byteLength(text),
    resultBytes: denied ? 0 : Buffer.byteLength(result),
    ...(durationMs === undefined || !Number.isFinite(durationMs)
      ? {}
      : { durationMs: Math.max(0, Math.round(durationMs)) }),
    denied,
  };
}
