// Which policy controls each harness can enforce, and how (docs/harnesses.md; verified against Codex 0.169
// and Claude Code 2.1.330). `audited` means the harness cannot prevent it but the runtime checks the
// workspace after every execution and refuses the step on a violation (DESIGN §5).

export type Harness = 'codex' | 'claude';
type Support = 'enforced' | 'audited' | 'unsupported';

export interface Capability {
  support: Support;
  how: string;
}

export const CONTROLS = [
  'sandbox: read-only',
  'sandbox: workspace-write',
  'sandbox: full-access',
  'permission_mode',
  'allow_write',
  'deny_write',
  'deny_read',
  'network: none',
  'network: allowlist',
  'network: open',
  'allow_commands',
  'max_turns',
  'ask',
  'tools: stdio server',
  'tools: http server',
  'tools: allowlist',
  'tools: tool_timeout',
  'tools: secrets',
  'tools: skills',
] as const;
export type Control = (typeof CONTROLS)[number];

export const capabilityMatrix: Record<Harness, Record<Control, Capability>> = {
  codex: {
    'sandbox: read-only': {
      support: 'enforced',
      how: 'permission profile extends ":read-only" (bubblewrap + seccomp)',
    },
    'sandbox: workspace-write': {
      support: 'enforced',
      how: 'permission profile extends ":workspace" with /tmp and $TMPDIR read-only (finding 4)',
    },
    'sandbox: full-access': { support: 'enforced', how: 'permission profile extends ":danger-full-access"' },
    permission_mode: { support: 'enforced', how: 'codex exec never asks (approval_policy is always never)' },
    allow_write: {
      support: 'audited',
      how: 'the whole workspace is writable; the runtime diff-checks writes against allow_write',
    },
    deny_write: {
      support: 'enforced',
      how: 'profile entry "path"="read" under :workspace_roots (+ runtime diff check)',
    },
    deny_read: { support: 'enforced', how: 'profile entry "path"="deny" under :workspace_roots' },
    'network: none': { support: 'enforced', how: 'network is off in the :read-only and :workspace profiles' },
    'network: allowlist': {
      support: 'unsupported',
      how: 'domain rules need profile network rules + network_proxy (enforcement not verified)',
    },
    'network: open': {
      support: 'unsupported',
      how: 'only with sandbox full-access (opening the network of a :workspace profile was not verified)',
    },
    allow_commands: {
      support: 'unsupported',
      how: 'execpolicy .rules files are user config (ignored hermetically)',
    },
    max_turns: { support: 'unsupported', how: 'no flag; the step timeout bounds the run' },
    ask: {
      support: 'unsupported',
      how: 'codex exec cannot ask a person (approval_policy is always never): a step with ask: is refused, even with validation: warn',
    },
    'tools: stdio server': {
      support: 'enforced',
      how: 'mcp_servers.<name>.command/args/env; only the servers the step lists with tools are started',
    },
    'tools: http server': {
      support: 'enforced',
      how: 'mcp_servers.<name>.url + http_headers (streamable HTTP)',
    },
    'tools: allowlist': {
      support: 'enforced',
      how: 'mcp_servers.<name>.enabled_tools: other tools are not given to the model, a call to one is "unsupported call" (default_tools_approval_mode approve: codex exec cannot ask)',
    },
    'tools: tool_timeout': {
      support: 'enforced',
      how: 'mcp_servers.<name>.startup_timeout_sec / tool_timeout_sec',
    },
    'tools: secrets': {
      support: 'enforced',
      how: 'a server with secrets starts through a launcher that reads them from a worker file the permission profile denies (absolute "path"="deny"); neither argv, config nor the agent\'s environment holds them (refused with sandbox full-access)',
    },
    'tools: skills': {
      support: 'enforced',
      how: "copied to $CODEX_HOME/skills/<name>/ of the launch (the model is given each skill's name and description); no others: skills.bundled.enabled=false, and skills.config enabled=false for each SKILL.md the repository carries (.agents/skills, .codex/skills)",
    },
  },
  claude: {
    'sandbox: read-only': {
      support: 'enforced',
      how: '--permission-mode plan-like: Edit/Write/NotebookEdit denied, sandbox denyWrite on the workspace for Bash',
    },
    'sandbox: workspace-write': {
      support: 'enforced',
      how: '--permission-mode acceptEdits + sandbox.enabled (Bash writes confined to cwd)',
    },
    'sandbox: full-access': { support: 'enforced', how: 'sandbox disabled' },
    permission_mode: {
      support: 'enforced',
      how: '--permission-mode dontAsk|acceptEdits|plan|bypassPermissions',
    },
    allow_write: {
      support: 'audited',
      how: 'file tools may write anywhere in the workspace (permission rules cannot say "everything but"); the runtime diff-checks writes against allow_write',
    },
    deny_write: {
      support: 'enforced',
      how: 'permissions.deny Edit(./path) + sandbox.filesystem.denyWrite (absolute)',
    },
    deny_read: {
      support: 'enforced',
      how: 'permissions.deny Read(./path) + sandbox.filesystem.denyRead (absolute, finding 8)',
    },
    'network: none': {
      support: 'enforced',
      how: 'sandbox network allowedDomains [] + strictAllowlist, WebFetch/WebSearch disallowed',
    },
    'network: allowlist': { support: 'enforced', how: 'sandbox.network.allowedDomains + strictAllowlist' },
    'network: open': { support: 'enforced', how: 'no network restriction' },
    allow_commands: { support: 'enforced', how: 'permissions.allow Bash(cmd:*)' },
    max_turns: { support: 'enforced', how: '--max-turns N' },
    ask: {
      support: 'enforced',
      how: 'permissions.ask + --permission-prompt-tool (an MCP tool that waits for sop answer; a timeout denies), for the forms Claude Code honours: Bash(cmd:*), Edit(glob) for file edits (Write(glob) is given as Edit(glob)), Read(glob), WebFetch(domain:host), WebSearch, mcp__server__tool (a tool the step allows); any other rule is refused (SOP504)',
    },
    'tools: stdio server': {
      support: 'enforced',
      how: '--mcp-config (type stdio) with --strict-mcp-config; only the servers the step lists with tools are started',
    },
    'tools: http server': { support: 'enforced', how: '--mcp-config (type http, headers)' },
    'tools: allowlist': {
      support: 'enforced',
      how: 'permissions.allow mcp__<server>__<tool>; any other tool is denied (dontAsk, acceptEdits), or denied unasked by the permission prompt tool in a step with ask:',
    },
    'tools: tool_timeout': {
      support: 'enforced',
      how: 'MCP_TIMEOUT / MCP_TOOL_TIMEOUT: one value for all servers (differing tool_timeout values, or tool_timeout with ask:, are refused)',
    },
    'tools: secrets': {
      support: 'enforced',
      how: "a server with secrets starts through a launcher that reads them from a worker file in sandbox.filesystem.denyRead and a Read deny rule; neither --mcp-config, argv nor the agent's environment holds them (refused with sandbox full-access)",
    },
    'tools: skills': {
      support: 'enforced',
      how: "copied to $CLAUDE_CONFIG_DIR/skills/<name>/ of the launch, loaded with --setting-sources user (the config folder is the runtime's own: no user settings in it)",
    },
  },
};

/** The matrix as a Markdown table, for docs/harnesses.md (a `|` in a cell is escaped: it would end the cell). */
export function capabilityTable(): string {
  const cell = (c: Capability) =>
    `${c.support === 'enforced' ? '✅' : c.support === 'audited' ? '🔍' : '❌'} ${c.how.replaceAll('|', '\\|')}`;
  return [
    '| control | codex 0.169 | claude 2.1.330 |',
    '|---|---|---|',
    ...CONTROLS.map(
      (control) =>
        `| ${control} | ${cell(capabilityMatrix.codex[control])} | ${cell(capabilityMatrix.claude[control])} |`,
    ),
  ].join('\n');
}
