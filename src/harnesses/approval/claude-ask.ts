// Per-tool-call approval for Claude Code: the tool calls a step's `ask:` patterns match go to the
// permission prompt tool (our MCP server), which relays them over the approval channel to the activity;
// the activity asks a person through the run and the decision goes back to Claude as allow or deny.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { durationMs } from '../../shapes/duration';
import { packageRoot } from '../../temporal/package-paths';
import type { AgentExecution, ToolApprovalRecord } from '../runner';
import { HarnessFatalError } from '../runner';
import {
  type ApprovalChannel,
  MCP_SERVER_NAME,
  openApprovalChannel,
  PERMISSION_PROMPT_TOOL,
  SOCKET_ENV,
} from './channel';

const DEFAULT_ASK_TIMEOUT_MS = 30 * 60_000;

export interface ClaudeAsk {
  /** extra argv: the permission prompt tool */
  args: string[];
  /** the approval server's entry in the --mcp-config file (the adapter writes one file for all servers) */
  mcpServers: Record<string, Record<string, unknown>>;
  /** extra environment for Claude (its MCP tool-call timeout must outlast the wait for a person) */
  env: Record<string, string>;
  channel: ApprovalChannel;
  approvals: ToolApprovalRecord[];
}

/**
 * Sets up asking for a step whose policy has `ask:` patterns; undefined when it has none. A call to an MCP
 * tool outside `allowedMcpTools` reaches the prompt tool too (the default mode asks about every call no
 * rule allows): it is denied without asking anyone.
 */
export async function prepareClaudeAsk(
  execution: AgentExecution,
  policy: { ask?: string[]; ask_timeout?: number | string },
  socketParent: string,
  allowedMcpTools: Set<string> = new Set(),
): Promise<ClaudeAsk | undefined> {
  if (!policy.ask?.length) return undefined;
  const approve = execution.approveToolCall;
  if (!approve) {
    throw new HarnessFatalError(
      'the step policy has ask: patterns, but nobody can be asked here (only runs started through the SOP runtime can pause for a person)',
    );
  }
  const server = path.join(packageRoot, 'dist', 'harnesses', 'approval', 'mcp-server.js');
  if (!fs.existsSync(server)) {
    throw new HarnessFatalError(`the approval MCP server ${server} is missing: run \`npm run build\``);
  }
  const timeoutMs =
    policy.ask_timeout === undefined ? DEFAULT_ASK_TIMEOUT_MS : durationMs(policy.ask_timeout);
  const approvals: ToolApprovalRecord[] = [];
  const channel = await openApprovalChannel(socketParent, async (request) => {
    if (request.tool_name.startsWith('mcp__') && !allowedMcpTools.has(request.tool_name))
      return {
        behavior: 'deny',
        message: `${request.tool_name} is not in this step's tools: allowlist`,
      };
    const verdict = await approve(request, timeoutMs);
    const approved = verdict.decision.behavior === 'allow';
    approvals.push({
      tool: request.tool_name,
      input: request.input,
      toolUseId: request.tool_use_id,
      approved,
      reason: verdict.decision.behavior === 'deny' ? verdict.decision.message : undefined,
      by: verdict.by,
      at: verdict.at,
      timedOut: verdict.timedOut,
    });
    return verdict.decision;
  });
  return {
    args: ['--permission-prompt-tool', PERMISSION_PROMPT_TOOL],
    mcpServers: {
      [MCP_SERVER_NAME]: {
        type: 'stdio',
        command: process.execPath,
        args: [server],
        env: { [SOCKET_ENV]: channel.socketPath },
      },
    },
    // Claude gives up on an MCP tool call after MCP_TOOL_TIMEOUT ms: the runtime's own timeout must decide
    env: { MCP_TOOL_TIMEOUT: String(timeoutMs + 60_000) },
    channel,
    approvals,
  };
}
