// A small issue tracker as an MCP server (the maintained MCP SDK), shipped for tests and examples of
// `mcp_servers:` in an SOP: `get_issue` reads an issue, `add_comment` appends a comment to one.
//
//   node dist/scripted-model/issue-tracker-mcp.js              stdio (what an SOP's `command:` starts)
//   node dist/scripted-model/issue-tracker-mcp.js --http PORT  streamable HTTP on 127.0.0.1:PORT/mcp
//
// Issues live in memory, seeded with #1 and #2 (ISSUE_TRACKER_SEED: a JSON file { "<id>": { title, body } }
// to seed others). ISSUE_TRACKER_LOG: a file each call is appended to as a JSON line { tool, arguments },
// so a test can see which calls reached the server (a denied call never does). ISSUE_TRACKER_TOKEN: the
// tracker's API token (a secret an SOP gives it); its sha256 is logged at start as { token_sha256 }, so a
// test can see the server got it without the value being written anywhere.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

interface Issue {
  title: string;
  body: string;
  comments: string[];
}

function seed(): Map<string, Issue> {
  const issues = new Map<string, Issue>([
    [
      '1',
      {
        title: 'Login fails with an expired token',
        body: 'Refresh the token before retrying.',
        comments: [],
      },
    ],
    ['2', { title: 'Typo in the README', body: 'It says "teh".', comments: [] }],
  ]);
  const file = process.env.ISSUE_TRACKER_SEED;
  if (file) {
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { title: string; body: string }>;
    for (const [id, issue] of Object.entries(data)) issues.set(id, { ...issue, comments: [] });
  }
  return issues;
}

/** The tracker's MCP server over one shared set of issues; each call is appended to `logFile`. */
function issueTrackerServer(issues: Map<string, Issue>, logFile = process.env.ISSUE_TRACKER_LOG): McpServer {
  const log = (tool: string, args: unknown) => {
    if (logFile) fs.appendFileSync(logFile, `${JSON.stringify({ tool, arguments: args })}\n`);
  };
  const server = new McpServer({ name: 'issue-tracker', version: '1.0.0' });
  const text = (value: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value) }] });
  const missing = (id: string) => ({
    ...text({ error: `no issue #${id}` }),
    isError: true,
  });
  server.registerTool(
    'get_issue',
    { description: 'Reads an issue: its title, body and comments', inputSchema: { id: z.string() } },
    async (args) => {
      log('get_issue', args);
      const issue = issues.get(args.id);
      return issue ? text({ id: args.id, ...issue }) : missing(args.id);
    },
  );
  server.registerTool(
    'add_comment',
    {
      description: 'Adds a comment to an issue',
      inputSchema: { id: z.string(), body: z.string().min(1) },
    },
    async (args) => {
      log('add_comment', args);
      const issue = issues.get(args.id);
      if (!issue) return missing(args.id);
      issue.comments.push(args.body);
      return text({ id: args.id, comments: issue.comments.length });
    },
  );
  return server;
}

export interface TrackerHttp {
  url: string;
  /** the headers of every request, lower-cased names (to see what a harness sent) */
  headers: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** Streamable HTTP on loopback at /mcp (stateless: one server and transport per request). */
export async function serveIssueTrackerHttp(
  options: { port?: number; logFile?: string } = {},
): Promise<TrackerHttp> {
  const issues = seed();
  const headers: http.IncomingHttpHeaders[] = [];
  const httpServer = http.createServer((req, res) => {
    headers.push(req.headers);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/mcp') {
        res.writeHead(404).end();
        return;
      }
      const server = issueTrackerServer(issues, options.logFile);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      await transport.handleRequest(req, res, body);
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    headers,
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      }),
  };
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--http');
  if (at >= 0) {
    const served = await serveIssueTrackerHttp({ port: Number(process.argv[at + 1] ?? 0) });
    process.stdout.write(`issue tracker MCP server on ${served.url}\n`);
    return;
  }
  const token = process.env.ISSUE_TRACKER_TOKEN;
  const logFile = process.env.ISSUE_TRACKER_LOG;
  if (token && logFile)
    fs.appendFileSync(
      logFile,
      `${JSON.stringify({ token_sha256: createHash('sha256').update(token).digest('hex') })}\n`,
    );
  await issueTrackerServer(seed()).connect(new StdioServerTransport());
}

if (require.main === module) void main();
