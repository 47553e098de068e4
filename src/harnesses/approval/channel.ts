// The loopback channel between the permission MCP server (a child of Claude Code) and the activity that
// launched Claude: a unix socket in a private folder, one JSON line per request and one per reply. The
// activity decides (it asks a person through the run); the MCP server only relays.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { z } from 'zod';

/** What Claude Code asks its permission prompt tool: the tool, its input and the tool-use id. */
export const ToolApprovalRequest = z.object({
  tool_name: z.string().min(1),
  input: z.record(z.string(), z.unknown()),
  tool_use_id: z.string().optional(),
});
export type ToolApprovalRequest = z.infer<typeof ToolApprovalRequest>;

/** The decision, in the shape Claude Code expects back from a permission prompt tool. */
export const ToolDecision = z.union([
  z.object({ behavior: z.literal('allow'), updatedInput: z.record(z.string(), z.unknown()) }),
  z.object({ behavior: z.literal('deny'), message: z.string() }),
]);
export type ToolDecision = z.infer<typeof ToolDecision>;

export const SOCKET_ENV = 'SOP_APPROVAL_SOCKET';
export const MCP_SERVER_NAME = 'sop';
export const MCP_TOOL_NAME = 'approve';
/** The name Claude Code knows the permission prompt tool by. */
export const PERMISSION_PROMPT_TOOL = `mcp__${MCP_SERVER_NAME}__${MCP_TOOL_NAME}`;

export interface ApprovalChannel {
  socketPath: string;
  /** requests asked and not answered yet (the harness is silent meanwhile, not hung) */
  waiting(): number;
  close(): Promise<void>;
}

/** Listens on a fresh socket in `parent`; every request is answered with `decide`'s decision. */
export async function openApprovalChannel(
  parent: string,
  decide: (request: ToolApprovalRequest) => Promise<ToolDecision>,
): Promise<ApprovalChannel> {
  const dir = fs.mkdtempSync(path.join(parent, 'ask-'));
  fs.chmodSync(dir, 0o700);
  const socketPath = path.join(dir, 's');
  let waiting = 0;
  const server = net.createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\n');
      if (end < 0) return;
      const line = buffered.slice(0, end);
      buffered = '';
      waiting++;
      void answer(line)
        .then((decision) => socket.end(`${JSON.stringify(decision)}\n`))
        .finally(() => {
          waiting--;
        });
    });
    socket.on('error', () => undefined);
  });
  const answer = async (line: string): Promise<ToolDecision> => {
    let request: ToolApprovalRequest;
    try {
      request = ToolApprovalRequest.parse(JSON.parse(line));
    } catch (err) {
      return { behavior: 'deny', message: `the approval request was malformed: ${(err as Error).message}` };
    }
    try {
      return await decide(request);
    } catch (err) {
      return { behavior: 'deny', message: `no approval: ${(err as Error).message}` };
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    socketPath,
    waiting: () => waiting,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The MCP server's side: sends one request, waits for its decision (as long as it takes). */
export function askOverChannel(socketPath: string, request: ToolApprovalRequest): Promise<ToolDecision> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
    });
    socket.on('end', () => {
      try {
        resolve(ToolDecision.parse(JSON.parse(buffered.trim())));
      } catch (err) {
        reject(new Error(`the runtime sent no usable decision: ${(err as Error).message}`));
      }
    });
    socket.on('error', reject);
  });
}
