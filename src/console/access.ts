// Who may use the console and what each role may do. Identities come from a tokens file
// (SOP_CONSOLE_TOKENS_FILE) or a trusted reverse proxy's header (SOP_CONSOLE_PROXY_HEADER); without either the
// console is open, and then only on a loopback address, to the person running `sop serve` as an operator.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { envValue } from '../config/env';

const ROLES = ['viewer', 'approver', 'operator'] as const;
const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

export interface Identity {
  name: string;
  role: Role;
}

/** What a role may do: every role reads; approvers also answer; operators also cancel, resume and pause. */
const ACTIONS = {
  answer: ['approver', 'operator'],
  cancel: ['operator'],
  resume: ['operator'],
  trigger: ['operator'],
} as const satisfies Record<string, readonly Role[]>;
export type Action = keyof typeof ACTIONS;

export const may = (role: Role, action: Action): boolean =>
  (ACTIONS[action] as readonly Role[]).includes(role);

const TokensFileSchema = z.object({
  users: z
    .array(
      z.object({
        name: z.string().min(1),
        role: RoleSchema,
        token: z.string().min(16, { error: 'a token has at least 16 characters' }),
      }),
    )
    .min(1),
});

export interface Access {
  /** sha256 of a token → its user */
  tokens?: Map<string, Identity>;
  proxy?: { header: string; roleHeader?: string; from: Set<string> };
  /** no authentication configured: everyone who reaches the (loopback) console is this operator */
  open?: Identity;
}

export const tokenDigest = (token: string) => createHash('sha256').update(token).digest('hex');

/** The tokens file's users, or an error naming the setting, the file and the field. */
function readTokensFile(file: string): Map<string, Identity> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`SOP_CONSOLE_TOKENS_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = TokensFileSchema.safeParse(parseYaml(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `SOP_CONSOLE_TOKENS_FILE ${file}: ${issue.path.join('.') || 'the file'}: ${issue.message} (expected users: [{ name, role: viewer|approver|operator, token }])`,
    );
  }
  const users = new Map<string, Identity>();
  for (const user of parsed.data.users)
    users.set(tokenDigest(user.token), { name: user.name, role: user.role });
  return users;
}

/** The access the environment configures; `openAs` is who an open (loopback, unauthenticated) console trusts. */
export function loadAccess(env: NodeJS.ProcessEnv, openAs: string): Access {
  const file = envValue('SOP_CONSOLE_TOKENS_FILE', env);
  const header = envValue('SOP_CONSOLE_PROXY_HEADER', env);
  const access: Access = {};
  if (file) access.tokens = readTokensFile(file);
  if (header) {
    const from = envValue('SOP_CONSOLE_PROXY_FROM', env)
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
    access.proxy = {
      header: header.toLowerCase(),
      roleHeader: envValue('SOP_CONSOLE_PROXY_ROLE_HEADER', env)?.toLowerCase(),
      from: new Set(from),
    };
  }
  if (!access.tokens && !access.proxy) access.open = { name: openAs, role: 'operator' };
  return access;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/;
const isLoopback = (host: string) => LOOPBACK.test(host);

/** Why `sop serve` must not start on `host` with this access (a non-loopback address and no authentication). */
export function unprotectedProblem(host: string, access: Access): string | undefined {
  if (!access.open || isLoopback(host)) return undefined;
  return `the console would be open to everyone on ${host}: set SOP_CONSOLE_TOKENS_FILE (sign-in tokens) or SOP_CONSOLE_PROXY_HEADER (a trusted reverse proxy's user header), or listen on 127.0.0.1`;
}

/** The user a trusted proxy names, when the request comes from it. */
export function proxyIdentity(
  access: Access,
  remoteAddress: string | undefined,
  headers: Record<string, string | string[] | undefined>,
): Identity | undefined {
  const proxy = access.proxy;
  if (!proxy || !remoteAddress) return undefined;
  const address = remoteAddress.replace(/^::ffff:/, '');
  if (!proxy.from.has(address) && !proxy.from.has(remoteAddress)) return undefined;
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim();
  const name = first(headers[proxy.header]);
  if (!name) return undefined;
  const role = RoleSchema.safeParse(proxy.roleHeader ? first(headers[proxy.roleHeader]) : undefined);
  return { name, role: role.success ? role.data : 'viewer' };
}
