// Policies (declared, defaults, per step and role) and the tool servers steps name.

import { ASK_WITH_BYPASS, ruleProblems } from '../../policies/permission-rules';
import { mcpToolName } from '../../policies/tool-servers';
import { suggest } from '../../shapes/diagnostics';
import type { Policy } from '../../shapes/policy';
import { RESERVED_SERVER_NAMES, type StepTools } from '../../shapes/tool-grants';
import type { KeyPath } from '../yaml-source';
import { type CheckContext, escapesWorkspace } from './context';

/** A policy reference (name or inline policy); a name that is not declared is reported. */
function resolvePolicy(ctx: CheckContext, ref: unknown, at: KeyPath): Policy | undefined {
  if (ref === undefined) return undefined;
  if (typeof ref === 'string') {
    if (!(ref in ctx.policies)) {
      ctx.report(
        'SOP209',
        `policy "${ref}" is not declared`,
        at,
        false,
        suggest(ref, Object.keys(ctx.policies)),
      );
      return undefined;
    }
    return ctx.policies[ref];
  }
  return ref as Policy;
}

/** A policy reference without reporting: undefined when the name is not declared. */
export function resolveQuiet(ctx: CheckContext, ref: unknown): Policy | undefined {
  if (typeof ref === 'string') return ctx.policies[ref];
  return ref as Policy | undefined;
}

function checkPolicy(ctx: CheckContext, policy: Policy, at: KeyPath): void {
  const { report } = ctx;
  for (const key of ['allow_write', 'deny_read', 'deny_write'] as const) {
    (policy[key] ?? []).forEach((p, i) => {
      if (escapesWorkspace(p)) {
        report('SOP501', `policy path "${p}" leaves the workspace`, [...at, key, i]);
      }
    });
  }
  if (policy.permission_mode === 'bypass' && policy.sandbox !== 'full-access') {
    report(
      'SOP502',
      'permission_mode bypass needs sandbox full-access (it would silently widen the sandbox)',
      [...at, 'permission_mode'],
    );
  }
  for (const { key, index, value, problem } of ruleProblems(policy))
    report('SOP504', `${key} "${value}": ${problem}`, [...at, key, index]);
  if (policy.permission_mode === 'bypass' && (policy.ask?.length ?? 0) > 0) {
    report('SOP502', ASK_WITH_BYPASS, [...at, 'ask']);
  }
  if (policy.sandbox === 'read-only' && (policy.allow_write?.length ?? 0) > 0) {
    report('SOP502', 'a read-only sandbox cannot have allow_write paths', [...at, 'allow_write']);
  }
  if (policy.network === 'open')
    report('SOP804', 'this policy opens the network to every host', [...at, 'network']);
}

/** An inline policy at `at` is checked; a named one only resolved (its declaration is checked once). */
export function checkPolicyRef(ctx: CheckContext, ref: unknown, at: KeyPath): Policy | undefined {
  const policy = resolvePolicy(ctx, ref, at);
  if (policy && typeof ref !== 'string') checkPolicy(ctx, policy, at);
  return policy;
}

/** The declared policies, and the names of the declared tool servers. */
export function checkPoliciesAndServers(ctx: CheckContext): void {
  for (const [name, policy] of Object.entries(ctx.policies)) checkPolicy(ctx, policy, ['policies', name]);
  for (const name of Object.keys(ctx.sop.mcp_servers ?? {}))
    if (RESERVED_SERVER_NAMES.includes(name))
      ctx.report('SOP261', `tool server "${name}" has a reserved name`, ['mcp_servers', name], true);
}

/** The defaults' policy, checked when inline and returned: a verifier's effective sandbox starts from it. */
export function checkDefaultPolicy(ctx: CheckContext): Policy | undefined {
  const { sop } = ctx;
  const defaultPolicy = resolvePolicy(ctx, sop.defaults?.policy, ['defaults', 'policy']);
  if (sop.defaults?.policy && typeof sop.defaults.policy !== 'string')
    checkPolicy(ctx, defaultPolicy!, ['defaults', 'policy']);
  return defaultPolicy;
}

/** Every server a tools: map names is declared under mcp_servers:. */
export function checkServers(ctx: CheckContext, tools: StepTools | undefined, at: KeyPath): void {
  const servers = ctx.sop.mcp_servers ?? {};
  for (const server of Object.keys(tools ?? {}))
    if (!(server in servers))
      ctx.report(
        'SOP260',
        `tools: names server "${server}", which is not declared under mcp_servers:`,
        [...at, 'tools', server],
        true,
        suggest(server, Object.keys(servers)),
      );
}

/** mcp__ ask rules naming a tool the role does not allow, reported where the rule is written */
export function checkToolAsks(
  ctx: CheckContext,
  tools: StepTools | undefined,
  layers: Array<{ ref: unknown; at: KeyPath }>,
): void {
  // lists are replaced, not merged: the last layer with ask: is the one the role runs with
  const layer = layers
    .filter((l) => l.ref !== undefined)
    .map((l) =>
      typeof l.ref === 'string'
        ? { policy: ctx.policies[l.ref], at: ['policies', l.ref] }
        : { policy: l.ref as Policy, at: l.at },
    )
    .filter((l) => l.policy?.ask !== undefined)
    .pop();
  if (!layer) return;
  const allowed = new Set(
    Object.entries(tools ?? {}).flatMap(([server, names]) => names.map((t) => mcpToolName(server, t))),
  );
  layer.policy.ask!.forEach((rule, i) => {
    if (rule.startsWith('mcp__') && !allowed.has(rule))
      ctx.report(
        'SOP504',
        `ask "${rule}" names an MCP tool this step does not allow (${allowed.size > 0 ? [...allowed].join(', ') : 'its tools: allow none'}): a call to it is denied without asking`,
        [...layer.at, 'ask', i],
      );
  });
}
