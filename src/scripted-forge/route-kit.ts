// The pieces every scripted-forge route shares: its context, GitHub's error answers, strict field checks
// and GitHub's page/per_page pagination with a Link header.

import type { Auth, Identity } from './auth';
import { basicError, validationError } from './shapes';
import type { ForgeState, IssueState, RepoState } from './state';
import type { WebhookSender } from './webhooks';

export interface RouteContext {
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  body: unknown;
  identity: Identity;
  /** the repository the path names (routes under /repos/{owner}/{repo}) */
  repo: RepoState;
  /** the forge's base URL (API and web links) */
  base: string;
  state: ForgeState;
  auth: Auth;
  /** response headers a handler adds (Link) */
  headers: Record<string, string>;
  /** the GitHub App deliveries the call causes (webhooks.ts) */
  webhooks: WebhookSender;
}

interface RouteAnswer {
  status: number;
  body?: unknown;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** GitHub's path template, as in its OpenAPI description: /repos/{owner}/{repo}/pulls */
  path: string;
  /** token: a personal or installation token; installation: an App installation's token only; jwt: the App itself */
  auth: 'token' | 'installation' | 'jwt';
  handler(ctx: RouteContext): RouteAnswer | Promise<RouteAnswer>;
}

/** An answer other than success, in GitHub's shape. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export const notFound = () => new HttpError(404, basicError('Not Found', 404));

export function invalid(resource: string, field: string, code = 'invalid', message?: string): HttpError {
  return new HttpError(
    422,
    validationError('Validation Failed', [{ resource, field, code, ...(message ? { message } : {}) }]),
  );
}

export function custom(resource: string, message: string): HttpError {
  return new HttpError(422, validationError('Validation Failed', [{ resource, code: 'custom', message }]));
}

export function bodyObject(ctx: RouteContext): Record<string, unknown> {
  if (ctx.body === undefined || ctx.body === null) return {};
  if (typeof ctx.body !== 'object' || Array.isArray(ctx.body)) {
    throw new HttpError(400, basicError('Problems parsing JSON', 400));
  }
  return ctx.body as Record<string, unknown>;
}

/** A required string field (missing: missing_field; another type: invalid). */
export function requiredString(body: Record<string, unknown>, field: string, resource: string): string {
  const value = body[field];
  if (value === undefined || value === null || value === '') throw invalid(resource, field, 'missing_field');
  if (typeof value !== 'string') throw invalid(resource, field);
  return value;
}

export function optionalString(
  body: Record<string, unknown>,
  field: string,
  resource: string,
): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (value !== null && typeof value !== 'string') throw invalid(resource, field);
  return value ?? undefined;
}

export function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  resource: string,
  field: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw invalid(resource, field);
  return value as T;
}

const MAX_BODY = 65536;

export function limitBody(body: string | undefined, resource: string): void {
  if (body !== undefined && body.length > MAX_BODY) {
    throw invalid(resource, 'body', 'custom', `Body is too long (maximum is ${MAX_BODY} characters)`);
  }
}

export function issueOf(ctx: RouteContext, param = 'issue_number'): IssueState {
  const issue = ctx.repo.issues.get(Number(ctx.params[param]));
  if (!issue) throw notFound();
  return issue;
}

/** One page of a list (GitHub's per_page, default 30, max 100), with a Link header to the next and last. */
export function paginate<T>(ctx: RouteContext, items: T[], path: string): T[] {
  const perPage = Math.min(Math.max(Number(ctx.query.per_page ?? 30) || 30, 1), 100);
  const page = Math.max(Number(ctx.query.page ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  if (page < last) {
    const link = (p: number) => {
      const q = new URLSearchParams({
        ...definedOnly(ctx.query),
        per_page: String(perPage),
        page: String(p),
      });
      return `<${ctx.base}${path}?${q}>`;
    };
    ctx.headers.link = `${link(page + 1)}; rel="next", ${link(last)}; rel="last"`;
  }
  return items.slice((page - 1) * perPage, page * perPage);
}

function definedOnly(query: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function requireWrite(identity: Identity): void {
  if (identity.kind === 'app' || !identity.write) {
    const by = identity.kind === 'token' ? 'personal access token' : 'integration';
    throw new HttpError(403, basicError(`Resource not accessible by ${by}`, 403));
  }
}
