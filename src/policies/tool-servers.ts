// MCP tool servers: how both harnesses are given exactly what an SOP declares (`mcp_servers:`) and a step
// may use of them (`tools:`; the shapes are in src/shapes/tool-grants.ts). A step's server without tools
// exposes nothing; a server the step does not list is not started. Verified against Codex 0.169 and Claude Code 2.1.330 with the shipped
// issue-tracker server (test/harnesses/mcp-tools.e2e.test.ts):
// - Codex: `mcp_servers.<name>` with `enabled_tools` (only those are given to the model, as functions of a
//   namespace `mcp__<name>`; a call to any other is "unsupported call" and never reaches the server) and
//   `default_tools_approval_mode="approve"` (codex exec would otherwise refuse every call: "MCP tool call
//   requires approval, but approval policy is never").
// - Claude Code: `--mcp-config` (with `--strict-mcp-config`) and `mcp__<name>__<tool>` allow rules; a tool
//   no rule allows is denied (dontAsk, acceptEdits) or, in the default mode a step with `ask:` runs in,
//   denied by the runtime's permission prompt tool without asking anyone.

import { durationMs } from '../shapes/duration';
import type { ToolGrant } from '../shapes/tool-grants';

/** The name both harnesses know a server's tool by in permission rules and transcripts. */
export function mcpToolName(server: string, tool: string): string {
  return `mcp__${server}__${tool}`;
}

/** The `mcp__server__tool` names a role may call. */
export function allowedToolNames(grants: ToolGrant[] | undefined): Set<string> {
  return new Set((grants ?? []).flatMap((g) => g.allow.map((t) => mcpToolName(g.server, t))));
}

const seconds = (d: string | number | undefined) => (d === undefined ? undefined : durationMs(d) / 1000);

/**
 * Codex: `-c mcp_servers.<name>...` overrides (its hermetic run reads no config file). Servers without
 * allowed tools are left out: they would expose nothing, so they are not started.
 */
export function codexToolArgs(grants: ToolGrant[]): string[] {
  const toml = (value: unknown) => JSON.stringify(value);
  const table = (record: Record<string, string>) =>
    `{${Object.entries(record)
      .map(([k, v]) => `${toml(k)}=${toml(v)}`)
      .join(', ')}}`;
  const args: string[] = [];
  for (const { server, spec, allow } of grants) {
    if (allow.length === 0) continue;
    const set = (key: string, value: string) => args.push('-c', `mcp_servers.${server}.${key}=${value}`);
    if ('command' in spec) {
      set('command', toml(spec.command));
      set('args', toml(spec.args ?? []));
      if (spec.env && Object.keys(spec.env).length > 0) set('env', table(spec.env));
    } else {
      set('url', toml(spec.url));
      if (spec.headers && Object.keys(spec.headers).length > 0) set('http_headers', table(spec.headers));
    }
    set('enabled_tools', toml(allow));
    // a server that cannot start fails the launch, instead of an agent without its tools
    set('required', 'true');
    set('default_tools_approval_mode', toml('approve'));
    const startup = seconds(spec.startup_timeout);
    if (startup !== undefined) set('startup_timeout_sec', String(startup));
    const tool = seconds(spec.tool_timeout);
    if (tool !== undefined) set('tool_timeout_sec', String(tool));
  }
  return args;
}

/** Claude Code: the `mcpServers` of its --mcp-config file, the allow rules, and the timeouts (env). */
export function claudeToolConfig(grants: ToolGrant[]): {
  mcpServers: Record<string, Record<string, unknown>>;
  allow: string[];
  env: Record<string, string>;
} {
  const mcpServers: Record<string, Record<string, unknown>> = {};
  const allow: string[] = [];
  const startup: number[] = [];
  const tool: number[] = [];
  for (const { server, spec, allow: tools } of grants) {
    if (tools.length === 0) continue;
    mcpServers[server] =
      'command' in spec
        ? { type: 'stdio', command: spec.command, args: spec.args ?? [], env: spec.env ?? {} }
        : { type: 'http', url: spec.url, headers: spec.headers ?? {} };
    allow.push(...tools.map((t) => mcpToolName(server, t)));
    if (spec.startup_timeout !== undefined) startup.push(durationMs(spec.startup_timeout));
    if (spec.tool_timeout !== undefined) tool.push(durationMs(spec.tool_timeout));
  }
  const env: Record<string, string> = {};
  // Claude Code has one startup and one tool-call timeout for all servers (MCP_TIMEOUT, MCP_TOOL_TIMEOUT);
  // differing tool timeouts are refused before launch (toolServerProblems)
  if (startup.length > 0) env.MCP_TIMEOUT = String(Math.max(...startup));
  if (tool.length > 0) env.MCP_TOOL_TIMEOUT = String(tool[0]);
  return { mcpServers, allow, env };
}

/** What Claude Code cannot do with these servers (refused before launch): differing tool timeouts. */
export function claudeToolProblems(grants: ToolGrant[], asks: boolean): string[] {
  const timeouts = new Set(
    grants
      .filter((g) => g.allow.length > 0 && g.spec.tool_timeout !== undefined)
      .map((g) => durationMs(g.spec.tool_timeout!)),
  );
  const problems: string[] = [];
  if (timeouts.size > 1)
    problems.push(
      'the servers have different tool_timeout values, and Claude Code has one tool-call timeout for all servers (MCP_TOOL_TIMEOUT): give them the same',
    );
  if (timeouts.size > 0 && asks)
    problems.push(
      "tool_timeout with ask: Claude Code's one tool-call timeout must outlast the wait for a person: remove tool_timeout or ask:",
    );
  return problems;
}

/** A copy of the grants with env and header values hidden, for the evidence. */
export function redactedGrants(grants: ToolGrant[]): ToolGrant[] {
  const hide = (record: Record<string, string> | undefined) =>
    record && Object.fromEntries(Object.keys(record).map((k) => [k, '[redacted]']));
  return grants.map((g) => ({
    ...g,
    spec:
      'command' in g.spec
        ? { ...g.spec, ...(g.spec.env ? { env: hide(g.spec.env) } : {}) }
        : { ...g.spec, ...(g.spec.headers ? { headers: hide(g.spec.headers) } : {}) },
  }));
}
