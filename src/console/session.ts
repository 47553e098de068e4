// Sessions: a signed, HTTP-only, SameSite=Strict cookie naming the token a user signed in with (its digest,
// never the token) and when the session ends. The user's role is looked up at every request, so a token
// removed from the file, or a role changed, takes effect at once.
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Access, type Identity, proxyIdentity, tokenDigest } from './access';

const SESSION_COOKIE = 'sop_console';

export interface SessionSettings {
  hours: number;
}

const cookieOptions = (hours: number) => ({
  path: '/console',
  httpOnly: true,
  sameSite: 'strict' as const,
  secure: 'auto' as const,
  signed: true,
  maxAge: hours * 3600,
});

/** Signs a user in with a token: the session cookie, or undefined when no user has this token. */
export function signIn(
  access: Access,
  token: string,
  reply: FastifyReply,
  settings: SessionSettings,
): Identity | undefined {
  const digest = tokenDigest(token);
  const user = access.tokens?.get(digest);
  if (!user) return undefined;
  const until = Date.now() + settings.hours * 3600_000;
  reply.setCookie(SESSION_COOKIE, `${digest}.${until}`, cookieOptions(settings.hours));
  return user;
}

export function signOut(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/console' });
}

/** Who sent the request: a trusted proxy's user, a valid session, or the open console's operator. */
export function identityOf(access: Access, req: FastifyRequest): Identity | undefined {
  const proxied = proxyIdentity(access, req.socket.remoteAddress, req.headers);
  if (proxied) return proxied;
  const cookie = req.cookies[SESSION_COOKIE];
  if (cookie && access.tokens) {
    const unsigned = req.unsignCookie(cookie);
    if (unsigned.valid && unsigned.value) {
      const [digest, until] = unsigned.value.split('.');
      const user = access.tokens.get(digest);
      if (user && Number(until) > Date.now()) return user;
    }
  }
  return access.open;
}
