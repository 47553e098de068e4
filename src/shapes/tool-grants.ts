// MCP tool servers as an SOP declares them (`mcp_servers:`), what a step may use of them (`tools:`), and
// what a role is granted at launch. How each harness is given exactly that is in src/policies/tool-servers.ts.

import { z } from 'zod';
import { Duration } from './duration';

const timeouts = {
  /** how long the server may take to start and list its tools (default: the harness's, 10 s / 30 s) */
  startup_timeout: Duration.optional(),
  /** how long one tool call may take (default: the harness's) */
  tool_timeout: Duration.optional(),
};

const StdioToolServer = z.strictObject({
  command: z.string().min(1).describe('the program to start, e.g. node or npx'),
  args: z.array(z.string()).optional(),
  /** the server's environment (besides PATH and HOME); never given to the agent's shell */
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.string())
    .optional(),
  ...timeouts,
});

const HttpToolServer = z.strictObject({
  url: z
    .url({ protocol: /^https?$/ })
    .describe('a streamable HTTP MCP endpoint, e.g. http://127.0.0.1:8931/mcp'),
  headers: z.record(z.string().min(1), z.string()).optional(),
  ...timeouts,
});

/** One entry of `mcp_servers:` (sop.yaml or sop.config.yaml): a stdio command or a streamable HTTP URL. */
export const ToolServer = z.union([StdioToolServer, HttpToolServer]);
export type ToolServer = z.infer<typeof ToolServer>;

/** A step's `tools:`: per server name, the tool names it may call (none: the server exposes nothing). */
export const StepTools = z.record(
  z.string(),
  z.array(z.string().regex(/^[A-Za-z0-9_-]+$/, 'a tool name (letters, digits, _ and -)')),
);
export type StepTools = z.infer<typeof StepTools>;

/** The approval server the runtime gives Claude Code for `ask:` is named sop: no SOP server may be. */
export const RESERVED_SERVER_NAMES = ['sop'];

/** What a role launches with: each server it may use, how to start it, and the tools it allows. */
export interface ToolGrant {
  server: string;
  spec: ToolServer;
  allow: string[];
}
