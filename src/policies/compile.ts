// Policy → the harness's native configuration. Controls the harness cannot enforce are refused before
// launch (PolicyUnsupportedError) unless the policy says `validation: warn`; then they are recorded as
// warnings and the step runs with the stricter behaviour the harness has.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIAGNOSTIC_CODES } from '../shapes/diagnostics';
import { DEFAULT_POLICY, mergePolicies, type Policy } from '../shapes/policy';
import type { ToolGrant } from '../shapes/tool-grants';
import { type Capability, type Control, capabilityMatrix, type Harness } from './capabilities';
import { type GitExposure, gitExposures } from './git-exposure';
import { ASK_WITH_BYPASS, checkAskRule, ruleProblems } from './permission-rules';
import { allowedToolNames, claudeToolProblems } from './tool-servers';

export type { Harness };

export interface PolicyFinding {
  control: string;
  message: string;
}

export interface CompiledPolicy {
  harness: Harness;
  /** argv flags for the harness */
  args: string[];
  /** claude: the --settings JSON */
  settings?: Record<string, unknown>;
  warnings: PolicyFinding[];
  /** control -> how it is enforced, for the evidence file */
  enforced: Record<string, string>;
  /** the merged policy as launched: `ask` holds the rules Claude Code is given (after translations) */
  effective: Policy;
  /** ask rules given to Claude Code in another form than written, e.g. Write(x) -> Edit(x) */
  translations: Array<{ from: string; to: string }>;
}

/** SOP504/SOP502: permission rules the pinned Claude Code would ignore, or ask: with bypass. */
export class PermissionRuleError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `${problems.join('; ')}. What to do: ${DIAGNOSTIC_CODES.SOP504.hint}. \`sop validate\` shows where each rule is.`,
    );
    this.name = 'PermissionRuleError';
  }
}

/** SOP503: deny_read paths git can print, whatever the sandbox does with the working tree. */
export class DenyReadExposedError extends Error {
  constructor(readonly exposures: GitExposure[]) {
    super(
      `SOP503: deny_read cannot be enforced for ${exposures.map((e) => `${e.path} (${e.how})`).join(', ')}: ` +
        'git show and git cat-file print it from the object store to the agent, which no harness sandbox blocks. ' +
        `What to do: ${DIAGNOSTIC_CODES.SOP503.hint}.`,
    );
    this.name = 'DenyReadExposedError';
  }
}

export class PolicyUnsupportedError extends Error {
  constructor(
    readonly harness: Harness,
    readonly findings: PolicyFinding[],
  ) {
    const onlyAsk = findings.every((f) => f.control === 'ask');
    super(
      `${harness} cannot enforce ${findings.map((f) => `${f.control} (${f.message})`).join('; ')}. ` +
        (onlyAsk
          ? 'Run the step with provider: claude (or sop run --provider claude), or remove ask: from its policy.'
          : 'Set validation: warn on the step policy to run anyway, or run the step with another provider.'),
    );
    this.name = 'PolicyUnsupportedError';
  }
}

/** The tool-server controls a role's `tools:` uses (servers it lists without tools start nothing). */
function toolControls(tools: ToolGrant[] | undefined): Control[] {
  const used = (tools ?? []).filter((g) => g.allow.length > 0);
  if (used.length === 0) return [];
  const controls: Control[] = ['tools: allowlist'];
  if (used.some((g) => 'command' in g.spec)) controls.push('tools: stdio server');
  if (used.some((g) => 'url' in g.spec)) controls.push('tools: http server');
  if (used.some((g) => g.spec.tool_timeout !== undefined || g.spec.startup_timeout !== undefined))
    controls.push('tools: tool_timeout');
  return controls;
}

function controlsOf(policy: Policy): Control[] {
  const controls: Control[] = [`sandbox: ${policy.sandbox ?? 'read-only'}` as Control, 'permission_mode'];
  if (policy.allow_write?.length) controls.push('allow_write');
  if (policy.deny_write?.length) controls.push('deny_write');
  if (policy.deny_read?.length) controls.push('deny_read');
  const network = policy.network ?? 'none';
  controls.push(
    typeof network === 'object'
      ? 'network: allowlist'
      : network === 'open'
        ? 'network: open'
        : 'network: none',
  );
  if (policy.allow_commands?.length) controls.push('allow_commands');
  if (policy.max_turns !== undefined) controls.push('max_turns');
  if (policy.ask?.length) controls.push('ask');
  return controls;
}

export function compilePolicy(
  requested: Policy,
  harness: Harness,
  ctx: {
    workspace: string;
    tools?: ToolGrant[];
    /** folders outside the workspace the agent must not read (the launch's tool-server secrets) */
    hidden?: string[];
    /** the role loads skills (`skills:`) */
    skills?: boolean;
  },
): CompiledPolicy {
  const merged = mergePolicies(DEFAULT_POLICY, requested);
  const problems = ruleProblems(merged).map(
    ({ key, index, value, problem }) => `SOP504: ${key}[${index}] "${value}": ${problem}`,
  );
  const allowedTools = allowedToolNames(ctx.tools);
  (merged.ask ?? []).forEach((rule, index) => {
    if (rule.startsWith('mcp__') && !allowedTools.has(rule))
      problems.push(
        `SOP504: ask[${index}] "${rule}": names an MCP tool the step does not allow under tools: (a call to it is denied without asking)`,
      );
  });
  if (merged.permission_mode === 'bypass' && merged.ask?.length) problems.push(`SOP502: ${ASK_WITH_BYPASS}`);
  if (problems.length > 0) throw new PermissionRuleError(problems);
  const { policy, translations } = translateAsk(merged);
  const refusals: PolicyFinding[] = [];
  for (const key of ['allow_write', 'deny_read', 'deny_write'] as const) {
    for (const p of policy[key] ?? []) {
      if (path.isAbsolute(p) || p.split(/[\\/]+/).includes('..')) {
        refusals.push({ control: key, message: `path "${p}" leaves the workspace` });
      }
    }
  }
  if (policy.permission_mode === 'bypass' && policy.sandbox !== 'full-access') {
    refusals.push({ control: 'permission_mode', message: 'bypass is only allowed with sandbox full-access' });
  }
  if (policy.sandbox === 'read-only' && typeof policy.network === 'object') {
    refusals.push({ control: 'network', message: 'a read-only sandbox has no network' });
  }
  const enforced: Record<string, string> = {};
  const warnings: PolicyFinding[] = [];
  const hidden = ctx.hidden ?? [];
  const extra: Control[] = [
    ...(hidden.length > 0 ? (['tools: secrets'] as const) : []),
    ...(ctx.skills ? (['tools: skills'] as const) : []),
  ];
  if (hidden.length > 0 && policy.sandbox === 'full-access')
    refusals.push({
      control: 'tools: secrets',
      message:
        "a full-access sandbox cannot hide the tool servers' secrets from the agent: run the step in read-only or workspace-write",
    });
  for (const control of [...controlsOf(policy), ...toolControls(ctx.tools), ...extra]) {
    let capability: Capability = capabilityMatrix[harness][control];
    if (control === 'network: open' && policy.sandbox === 'full-access') {
      capability = { support: 'enforced', how: 'full access includes the network' };
    }
    if (capability.support === 'unsupported') {
      const finding = { control, message: capability.how };
      // a gate that silently does not gate is worse than no run: `ask` is never downgraded to a warning
      if (policy.validation === 'warn' && control !== 'ask') warnings.push(finding);
      else refusals.push(finding);
    } else enforced[control] = `${capability.support}: ${capability.how}`;
  }
  if (policy.deny_read?.length && policy.sandbox === 'full-access' && harness === 'codex') {
    // a :danger-full-access profile has no deny entries: nothing hides the path
    const finding = { control: 'deny_read', message: 'a full-access profile cannot deny reads' };
    delete enforced.deny_read;
    if (policy.validation === 'warn') warnings.push(finding);
    else refusals.push(finding);
  }
  if (harness === 'claude')
    for (const message of claudeToolProblems(ctx.tools ?? [], (policy.ask?.length ?? 0) > 0))
      refusals.push({ control: 'tools: tool_timeout', message });
  if (refusals.length > 0) throw new PolicyUnsupportedError(harness, refusals);
  if (enforced.deny_read) {
    const exposed = gitExposures(ctx.workspace, policy.deny_read ?? []);
    if (exposed.length > 0 && policy.validation !== 'warn') throw new DenyReadExposedError(exposed);
    for (const e of exposed)
      warnings.push({
        control: 'deny_read',
        message: `${e.path} (${e.how}): git show / git cat-file can print it`,
      });
    const names = exposed.map((e) => e.path);
    enforced.deny_read =
      `${enforced.deny_read} — for the working tree only; ` +
      (names.length > 0
        ? `NOT for git: ${names.join(', ')} (git show / git cat-file print it; validation: warn)`
        : 'git can reveal none of these paths (not tracked, in no commit)');
  }
  const native =
    harness === 'codex'
      ? codexArgs(policy, ctx.workspace, hidden)
      : claudeConfig(policy, ctx.workspace, hidden);
  if (enforced.ask && harness === 'claude' && native.args[1] === 'default') {
    enforced.ask +=
      " — in Claude's default mode (dontAsk would deny an asked call without asking): calls no rule allows are asked about too";
  }
  if (enforced.ask && translations.length > 0)
    enforced.ask += ` — given as ${translations.map((t) => `${t.from} -> ${t.to}`).join(', ')}`;
  return { harness, ...native, warnings, enforced, effective: policy, translations };
}

/** The ask rules as Claude Code is given them: a file-edit rule written with another tool's name becomes Edit(path). */
function translateAsk(policy: Policy): { policy: Policy; translations: CompiledPolicy['translations'] } {
  if (!policy.ask?.length) return { policy, translations: [] };
  const translations: CompiledPolicy['translations'] = [];
  const ask: string[] = [];
  for (const written of policy.ask) {
    const checked = checkAskRule(written);
    if (!checked.ok) continue; // refused above
    if (checked.from) translations.push({ from: checked.from, to: checked.rule });
    if (!ask.includes(checked.rule)) ask.push(checked.rule);
  }
  return { policy: { ...policy, ask }, translations };
}

/**
 * Codex: a permission profile (not `--sandbox`, which would disable profiles): deny_read entries are
 * `deny`, deny_write entries `read`, and /tmp + $TMPDIR are read-only so a write cannot escape the
 * workspace (finding 4). Verified against 0.169: reads of denied paths and writes to read paths fail
 * with EACCES / EROFS inside the sandbox. Entries never overlap (overlaps break session start).
 */
function codexArgs(policy: Policy, workspace: string, hidden: string[]): { args: string[] } {
  const sandbox = policy.sandbox ?? 'read-only';
  // a profile cannot extend :danger-full-access (0.169 refuses to start); full access has nothing to add
  if (sandbox === 'full-access') return { args: ['-c', 'default_permissions=":danger-full-access"'] };
  const base = {
    'read-only': ':read-only',
    'workspace-write': ':workspace',
  }[sandbox];
  const entries = new Map<string, 'read' | 'deny'>();
  const key = (p: string) =>
    p
      .replace(/\/\*\*$/, '')
      .replace(/\/+$/, '')
      .replace(/^\.\//, '') || '.';
  // The sandbox mounts a placeholder for a denied path that does not exist, which would litter the
  // workspace with empty files; such a path has nothing to protect at launch. Globs are always kept.
  const relevant = (p: string) => /[*?[]/.test(key(p)) || fs.existsSync(path.join(workspace, key(p)));
  if (sandbox === 'workspace-write') {
    for (const p of policy.deny_write ?? []) if (relevant(p)) entries.set(key(p), 'read');
  }
  for (const p of policy.deny_read ?? []) if (relevant(p)) entries.set(key(p), 'deny');
  const toml = (value: string) => JSON.stringify(value);
  const roots = [...entries].map(([p, access]) => `${toml(p)}=${toml(access)}`).join(', ');
  const filesystem = [
    ...(roots ? [`":workspace_roots"={${roots}}`] : []),
    // absolute entries: folders of the worker's the agent must not read
    ...hidden.map((dir) => `${toml(dir)}="deny"`),
    ...(sandbox === 'workspace-write' ? ['":slash_tmp"="read"', '":tmpdir"="read"'] : []),
  ].join(', ');
  const profile = `{extends=${toml(base)}${filesystem ? `, filesystem={${filesystem}}` : ''}}`;
  return { args: ['-c', 'default_permissions="sop_step"', '-c', `permissions.sop_step=${profile}`] };
}

const CLAUDE_MODES = {
  dont_ask: 'dontAsk',
  accept_edits: 'acceptEdits',
  plan: 'plan',
  bypass: 'bypassPermissions',
} as const;
const EDIT_TOOLS = ['Edit', 'Write', 'NotebookEdit'];

function claudeConfig(
  policy: Policy,
  workspace: string,
  hidden: string[],
): { args: string[]; settings: Record<string, unknown> } {
  const sandbox = policy.sandbox ?? 'read-only';
  const relative = (p: string) => `./${p.replace(/^\.\//, '').replace(/\/$/, '/**')}`;
  const absolute = (p: string) => path.join(workspace, p.replace(/\/\*\*$/, '').replace(/\/$/, ''));
  const allow: string[] = [];
  const deny: string[] = [];
  // acceptEdits is what makes writes possible headless; dont_ask would deny every edit
  let mode: string = CLAUDE_MODES[policy.permission_mode ?? 'dont_ask'];
  if (sandbox === 'workspace-write' && mode === 'dontAsk') mode = 'acceptEdits';
  if (sandbox === 'read-only') {
    if (mode === 'acceptEdits') mode = 'dontAsk';
    deny.push(...EDIT_TOOLS);
    allow.push('Read', 'Glob', 'Grep');
  } else {
    allow.push('Read', 'Glob', 'Grep', 'Edit', 'Write', 'Bash');
  }
  // dontAsk denies a call an ask rule matches without calling the permission prompt tool: nobody would be
  // asked. The default mode asks (through the prompt tool) about it, and about calls no rule allows.
  if (policy.ask?.length && mode === 'dontAsk') mode = 'default';
  for (const p of policy.deny_read ?? []) deny.push(`Read(${relative(p)})`);
  for (const dir of hidden) deny.push(`Read(/${dir}/**)`);
  for (const p of policy.deny_write ?? []) deny.push(`Edit(${relative(p)})`);
  for (const c of policy.allow_commands ?? []) allow.push(`Bash(${c}:*)`);
  const network = policy.network ?? 'none';
  if (network !== 'open') deny.push('WebFetch', 'WebSearch');
  const filesystem: Record<string, string[]> = {
    denyRead: [...(policy.deny_read ?? []).map(absolute), ...hidden],
    denyWrite: [...(sandbox === 'read-only' ? [workspace] : []), ...(policy.deny_write ?? []).map(absolute)],
    allowWrite: (policy.allow_write ?? []).map(absolute),
  };
  const settings: Record<string, unknown> = {
    permissions: {
      allow,
      deny,
      ...(policy.ask?.length ? { ask: policy.ask } : {}),
      defaultMode: mode,
      disableBypassPermissionsMode: mode === 'bypassPermissions' ? undefined : 'disable',
    },
    sandbox:
      sandbox === 'full-access'
        ? { enabled: false }
        : {
            enabled: true,
            failIfUnavailable: true,
            allowUnsandboxedCommands: false,
            autoAllowBashIfSandboxed: sandbox === 'workspace-write' && !policy.ask?.length,
            filesystem,
            network:
              network === 'open'
                ? {}
                : { allowedDomains: typeof network === 'object' ? network.allow : [], strictAllowlist: true },
          },
  };
  const args = ['--permission-mode', mode];
  if (policy.max_turns !== undefined) args.push('--max-turns', String(policy.max_turns));
  return { args, settings };
}
