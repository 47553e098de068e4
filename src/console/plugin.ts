// The console as a Fastify plugin under /console on `sop serve`'s server: its own body parser (forms), signed
// session cookies, CSRF tokens (a per-browser secret in a signed cookie) on every POST, a same-origin check, a strict
// Content-Security-Policy (no inline or outside script, style or image), and 401 for anyone not signed in.
import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Access, Identity } from './access';
import { CONSOLE_CSS, CONSOLE_JS } from './assets';
import { AuditLog } from './audit';
import { IdentityClients } from './clients';
import type { ConsoleContext, ConsoleOptions } from './context';
import { html, page } from './html';
import { registerActions } from './routes-actions';
import { registerPages } from './routes-pages';
import { identityOf } from './session';

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

const PUBLIC = new Set(['/console/login', '/console/assets/console.js', '/console/assets/console.css']);

export async function consolePlugin(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const secret = options.sessionSecret ?? randomBytes(32).toString('hex');
  const identities = new WeakMap<FastifyRequest, Identity>();
  const ctx: ConsoleContext = {
    ...options,
    clients: new IdentityClients(options.sop),
    audit: new AuditLog(options.projectDir, options.log ?? (() => undefined)),
    sessionHours: options.sessionHours ?? 12,
    who: (req) => {
      const found = identities.get(req);
      if (!found) throw new Error('no signed-in user on this request');
      return found;
    },
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 64 * 1024 },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  await app.register(fastifyCookie, { secret });
  await app.register(fastifyCsrf, {
    cookieOpts: {
      signed: true,
      httpOnly: true,
      sameSite: 'strict',
      path: '/console',
      secure: 'auto' as never,
    },
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.headers(SECURITY_HEADERS);
    const who = identityOf(options.access, req);
    if (who) identities.set(req, who);
    else if (!PUBLIC.has(req.url.split('?')[0])) return refuseUnsigned(req, reply, options.access);
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const code = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    const why =
      code === 403 ? `refused: ${err.message} (reload the page and try again)` : err.message.split('\n')[0];
    options.log?.(`console: ${req.method} ${req.url.split('?')[0]}: ${code} ${why}`);
    return reply
      .code(code)
      .type('text/html')
      .send(
        page({
          title: `${code}`,
          who: identities.get(req),
          body: html`<h1>${code}</h1><p class="notice error" data-testid="error">${why}</p>`,
        }),
      );
  });
  app.get('/assets/console.js', async (_req, reply) => reply.type('text/javascript').send(CONSOLE_JS));
  app.get('/assets/console.css', async (_req, reply) => reply.type('text/css').send(CONSOLE_CSS));
  registerPages(app, ctx);
  registerActions(app, ctx);
}

function refuseUnsigned(req: FastifyRequest, reply: FastifyReply, access: Access) {
  const how = access.tokens
    ? html`<p><a href="/console/login">Sign in</a> with your console token.</p>`
    : html`<p>Sign in through the reverse proxy in front of this console.</p>`;
  if (req.headers.accept?.includes('application/json') && !req.headers.accept.includes('text/html'))
    return reply.code(401).send({ error: 'sign in first' });
  return reply
    .code(401)
    .type('text/html')
    .send(page({ title: 'Sign in', body: html`<h1>Sign in</h1>${how}` }));
}

export type { ConsoleOptions };
