// The permission prompt tool Claude Code calls (`--permission-prompt-tool mcp__sop__approve`) before a
// tool call that a step's `ask:` patterns match. An MCP server on stdio (the maintained MCP SDK) that
// relays each request to the activity over the approval channel and returns its decision. Run by Claude
// Code as `node dist/harnesses/approval/mcp-server.js` with SOP_APPROVAL_SOCKET set.

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { askOverChannel, MCP_SERVER_NAME, MCP_TOOL_NAME, SOCKET_ENV, type ToolDecision } from './channel';

async function main(): Promise<void> {
  const socketPath = process.env[SOCKET_ENV];
  if (!socketPath) {
    process.stderr.write(`${SOCKET_ENV} is not set: this server is started by the SOP runtime only\n`);
    process.exit(2);
  }
  const server = new McpServer({ name: MCP_SERVER_NAME, version: '1.0.0' });
  server.registerTool(
    MCP_TOOL_NAME,
    {
      description: 'Asks a person (through the SOP run) whether a tool call may run',
      inputSchema: {
        tool_name: z.string(),
        input: z.record(z.string(), z.unknown()),
        tool_use_id: z.string().optional(),
      },
    },
    async (args) => {
      let decision: ToolDecision;
      try {
        decision = await askOverChannel(socketPath, args);
      } catch (err) {
        decision = { behavior: 'deny', message: `the runtime could not be asked: ${(err as Error).message}` };
      }
      return { content: [{ type: 'text' as const, text: JSON.stringify(decision) }] };
    },
  );
  await server.connect(new StdioServerTransport());
}

if (require.main === module) void main();
