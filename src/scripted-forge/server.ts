// A scripted forge on loopback, as the scripted model server is for models: the part of GitHub's REST API
// the runtime uses (pull requests, issue comments, labels, commit statuses, check runs, the App
// installation-token exchange with a real JWT check), strict about auth and required fields, answering in
// GitHub's shapes, recording every call, and answering 401/403/404/422/429 with GitHub's headers when a
// test scripts a fault. Each repository is a bare git repository served over smart HTTP at
// {url}/{owner}/{repo}.git, so a run's branch can be pushed to it for real.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { type AppRegistration, Auth, AuthError, type Identity } from './auth';
import { gitHttpBackend, smartPath } from './git-http';
import { HttpError, notFound, type Route, type RouteContext, requireWrite } from './route-kit';
import { commitRoutes } from './routes-commits';
import { issueRoutes } from './routes-issues';
import { reviewRoutes } from './routes-reviews';
import { basicError, DOCS } from './shapes';
import { ForgeState, type RepoState } from './state';
import { WebhookSender, type WebhookTarget } from './webhooks';

/** A call the forge answered: what tests assert on (the identity, never the token). */
interface ForgeCall {
  method: string;
  /** GitHub's route template (`POST /repos/{owner}/{repo}/pulls`), git's (`git POST git-receive-pack`), or `unknown` */
  route: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  identity?: { kind: Identity['kind']; login: string; appId?: number; installationId?: number };
  status: number;
  /** answered by a scripted fault */
  fault?: boolean;
}

/** An answer a test scripts for a route, the next `times` calls (default 1). */
interface ScriptedFault {
  /** GitHub's route: `POST /repos/{owner}/{repo}/pulls` */
  route: string;
  status: 401 | 403 | 404 | 422 | 429 | 500 | 502 | 503;
  times?: number;
  message?: string;
  /** answer as a rate limit: the primary limit's reset (epoch seconds) and/or a secondary limit's Retry-After */
  rateLimit?: { resetAt?: number; retryAfter?: number };
  /**
   * `after`: the call takes effect, then the fault is the answer, as when the answer is lost (a worker killed
   * after the forge acted); `before` (the default): the call is refused
   */
  when?: 'before' | 'after';
  /** hold the answer this long (a worker a test kills meanwhile never gets it) */
  delayMs?: number;
}

export interface ScriptedForgeOptions {
  port?: number;
  /** deliver GitHub App webhooks for issues, labels, comments and reviews made through the API (webhooks.ts) */
  webhook?: WebhookTarget;
  /** where the bare repositories live (default: a new temporary directory, removed on close) */
  root?: string;
}

export interface ScriptedForge {
  /** the API base URL (as https://api.github.com) and the git host: {url}/{owner}/{repo}.git */
  url: string;
  port: number;
  calls: ForgeCall[];
  state: ForgeState;
  addRepo(fullName: string, options?: { defaultBranch?: string }): { dir: string; cloneUrl: string };
  addIssue(
    fullName: string,
    issue: { title: string; body?: string; labels?: string[]; user?: string },
  ): number;
  addToken(token: string, options: { login: string; write?: boolean }): void;
  addApp(app: AppRegistration): void;
  addInstallation(installationId: number, appId: number, options?: { write?: boolean }): void;
  fail(fault: ScriptedFault): void;
  /** the webhook deliveries sent so far (`webhooks.settled()`: once every queued one is answered) */
  webhooks: WebhookSender;
  repo(fullName: string): RepoState;
  close(): Promise<void>;
}

/** What the handlers share: the forge's state, who may call, the record and the scripted faults. */
interface Served {
  root: string;
  state: ForgeState;
  auth: Auth;
  calls: ForgeCall[];
  faults: (ScriptedFault & { left: number })[];
  base: string;
  remaining: number;
  webhooks: WebhookSender;
}

export async function startScriptedForge(options: ScriptedForgeOptions = {}): Promise<ScriptedForge> {
  const ownRoot = !options.root;
  // absolute: git http-backend runs in a directory of its own
  const root = options.root
    ? path.resolve(options.root)
    : fs.mkdtempSync(path.join(os.tmpdir(), 'sop-scripted-forge-'));
  const state = new ForgeState(root);
  const auth = new Auth();
  const webhooks = new WebhookSender(options.webhook);
  const served: Served = { root, state, auth, calls: [], faults: [], base: '', remaining: 5000, webhooks };
  const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 });

  app.addContentTypeParser(
    ['application/x-git-upload-pack-request', 'application/x-git-receive-pack-request'],
    (_req, payload, done) => done(null, payload),
  );
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    const message = status === 400 ? 'Problems parsing JSON' : err.message;
    record(served, req, 'unknown', status);
    void reply.code(status).send(basicError(message, status));
  });
  app.setNotFoundHandler((req, reply) => {
    record(served, req, 'unknown', 404);
    void reply.code(404).send(basicError('Not Found', 404));
  });
  for (const route of [...issueRoutes, ...commitRoutes, ...reviewRoutes]) {
    app.route({
      method: route.method,
      url: route.path.replace(/\{(\w+)\}/g, ':$1'),
      handler: (req, reply) => serveRest(served, route, req, reply),
    });
  }
  app.route({
    method: ['GET', 'POST'],
    url: '/:owner/:repo/*',
    handler: (req, reply) => serveGit(served, req, reply),
  });

  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const port = (app.server.address() as { port: number }).port;
  const base = `http://127.0.0.1:${port}`;
  served.base = base;

  const repoOf = (fullName: string) => {
    const [owner, name] = fullName.split('/');
    const repo = state.repo(owner ?? '', name ?? '');
    if (!repo) throw new Error(`the scripted forge has no repository ${fullName}: add it with addRepo`);
    return repo;
  };

  return {
    url: base,
    port,
    calls: served.calls,
    state,
    addRepo(fullName, opts = {}) {
      const repo = state.addRepo(fullName, opts.defaultBranch);
      return { dir: repo.dir, cloneUrl: `${base}/${repo.owner}/${repo.name}.git` };
    },
    addIssue(fullName, issue) {
      return state.addIssue(repoOf(fullName), { ...issue, user: issue.user ?? 'octocat' }).number;
    },
    addToken: (token, opts) => auth.addToken(token, opts),
    addApp: (registration) => auth.addApp(registration),
    addInstallation: (id, appId, opts) => auth.addInstallation(id, appId, opts),
    fail(fault) {
      served.faults.push({ ...fault, left: fault.times ?? 1 });
    },
    repo: repoOf,
    webhooks,
    async close() {
      await app.close();
      if (ownRoot) fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** One REST call: auth (token, installation or App JWT), a scripted fault, the repository, the route. */
async function serveRest(served: Served, route: Route, req: FastifyRequest, reply: FastifyReply) {
  const name = `${route.method} ${route.path}`;
  const call = record(served, req, name, 0);
  served.remaining = Math.max(served.remaining - 1, 1);
  const headers: Record<string, string> = rateHeaders(served.remaining);
  try {
    const { auth, state } = served;
    const authorization = req.headers.authorization;
    const identity = route.auth === 'jwt' ? await auth.byJwt(authorization) : auth.byToken(authorization);
    call.identity = publicIdentity(identity);
    if (route.auth === 'installation' && identity.kind !== 'installation') {
      throw new HttpError(403, basicError('You must authenticate via a GitHub App.', 403));
    }
    const fault = served.faults.find((f) => f.left > 0 && normalRoute(f.route) === name);
    if (fault) {
      fault.left -= 1;
      call.fault = true;
      if (fault.when !== 'after') throw faultAnswer(fault, identity);
    }
    const params = req.params as Record<string, string>;
    let repo: RepoState | undefined;
    if (params.owner !== undefined) {
      repo = state.repo(params.owner, params.repo);
      if (!repo) throw notFound();
    }
    if (route.method !== 'GET' && route.auth !== 'jwt') requireWrite(identity);
    const ctx: RouteContext = {
      params,
      query: req.query as Record<string, string | undefined>,
      body: req.body,
      identity,
      repo: repo as RepoState,
      base: served.base,
      state,
      auth,
      headers,
      webhooks: served.webhooks,
    };
    const answer = await route.handler(ctx);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.when === 'after') throw faultAnswer(fault, identity);
    call.status = answer.status;
    return reply.code(answer.status).headers(headers).send(answer.body);
  } catch (err) {
    return sendError(reply, call, headers, err);
  }
}

/** One git smart-HTTP call: Basic auth with the token as password, push needs write, then git http-backend. */
async function serveGit(served: Served, req: FastifyRequest, reply: FastifyReply) {
  const { owner, repo: repoParam, '*': rest } = req.params as Record<string, string>;
  const query = req.query as Record<string, string | undefined>;
  const smart = smartPath(rest, req.method, query.service);
  const call = record(served, req, `git ${req.method} ${rest}`, 0);
  const repo = repoParam.endsWith('.git') ? served.state.repo(owner, repoParam.slice(0, -4)) : undefined;
  try {
    if (!smart || !repo) throw notFound();
    let identity: Identity;
    try {
      identity = served.auth.byBasic(req.headers.authorization);
    } catch (err) {
      reply.header('www-authenticate', 'Basic realm="GitHub"');
      throw err;
    }
    call.identity = publicIdentity(identity);
    if (smart.write) requireWrite(identity);
    const answer = await gitHttpBackend(served.root, {
      method: req.method,
      pathInfo: `/${repo.owner}/${repo.name}.git/${rest}`,
      query: new URL(req.url, 'http://forge').search.slice(1),
      contentType: req.headers['content-type'],
      contentEncoding: req.headers['content-encoding'],
      remoteUser: identity.login,
      body: req.method === 'POST' ? (req.body as Readable | undefined) : undefined,
    });
    call.status = answer.status;
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  } catch (err) {
    return sendError(reply, call, {}, err);
  }
}

function record(served: Served, req: FastifyRequest, route: string, status: number): ForgeCall {
  const url = new URL(req.url, 'http://forge');
  const call: ForgeCall = {
    method: req.method,
    route,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    ...(isJson(req.body) ? { body: req.body } : {}),
    status,
  };
  served.calls.push(call);
  return call;
}

function sendError(reply: FastifyReply, call: ForgeCall, headers: Record<string, string>, err: unknown) {
  if (err instanceof AuthError) {
    call.status = err.status;
    return reply.code(err.status).headers(headers).send(basicError(err.message, err.status));
  }
  if (err instanceof HttpError) {
    call.status = err.status;
    return reply
      .code(err.status)
      .headers({ ...headers, ...err.headers })
      .send(err.body);
  }
  call.status = 500;
  return reply.code(500).send(basicError(`scripted forge: ${(err as Error).message}`, 500));
}

/** A scripted fault in GitHub's words and headers. */
function faultAnswer(fault: ScriptedFault, identity: Identity): HttpError {
  const limited = fault.status === 429 || (fault.status === 403 && fault.rateLimit !== undefined);
  if (limited) {
    const resetAt = fault.rateLimit?.resetAt ?? Math.ceil(Date.now() / 1000) + 60;
    const headers: Record<string, string> = { ...rateHeaders(0), 'x-ratelimit-reset': String(resetAt) };
    if (fault.rateLimit?.retryAfter !== undefined)
      headers['retry-after'] = String(fault.rateLimit.retryAfter);
    const who =
      identity.kind === 'installation' ? `installation ID ${identity.installationId}` : identity.login;
    const message =
      fault.message ??
      (fault.rateLimit?.retryAfter !== undefined
        ? 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.'
        : `API rate limit exceeded for ${who}.`);
    return new HttpError(fault.status, { message, documentation_url: DOCS }, headers);
  }
  if (fault.status === 422) {
    const message = fault.message ?? 'Validation Failed';
    return new HttpError(422, {
      message: 'Validation Failed',
      errors: [{ resource: 'Issue', code: 'custom', message }],
      documentation_url: DOCS,
    });
  }
  const defaults: Record<number, string> = {
    401: 'Bad credentials',
    403: 'Resource not accessible by integration',
    404: 'Not Found',
  };
  return new HttpError(
    fault.status,
    basicError(fault.message ?? defaults[fault.status] ?? 'Server Error', fault.status),
  );
}

function rateHeaders(remaining: number): Record<string, string> {
  return {
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-used': String(5000 - remaining),
    'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
    'x-ratelimit-resource': 'core',
  };
}

function publicIdentity(identity: Identity): ForgeCall['identity'] {
  return {
    kind: identity.kind,
    login: identity.login,
    ...('appId' in identity ? { appId: identity.appId } : {}),
    ...('installationId' in identity ? { installationId: identity.installationId } : {}),
  };
}

function normalRoute(route: string): string {
  const [method, ...rest] = route.trim().split(/\s+/);
  return `${method.toUpperCase()} ${rest.join(' ')}`;
}

function isJson(body: unknown): boolean {
  return (
    body !== undefined &&
    (typeof body !== 'object' || body === null || typeof (body as Readable).pipe !== 'function')
  );
}
