// One call of an MCP tool in an execution, as the evidence, executions.jsonl and the activity's result record
// it: the server, the tool, the arguments' sha256 and size (never the arguments: they may hold what the agent
// read), the result's size, how long the call took, and whether it was denied.

import { z } from 'zod';

const McpCallSchema = z.strictObject({
  server: z.string(),
  tool: z.string(),
  argumentsSha256: z.string(),
  argumentsBytes: z.number().int().min(0),
  /** bytes of the result the agent got back (its text), 0 for a denied call */
  resultBytes: z.number().int().min(0),
  /** from the call to its result as the harness recorded them (absent when it recorded no times) */
  durationMs: z.number().int().min(0).optional(),
  denied: z.boolean(),
});
export type McpCall = z.infer<typeof McpCallSchema>;

/** MCP calls an activity result carries into history at most (the evidence file has every one). */
export const MCP_CALLS_IN_RESULT = 20;

/** How many MCP tool calls, and how many of them were denied. */
export interface McpCallCount {
  calls: number;
  denied: number;
}
