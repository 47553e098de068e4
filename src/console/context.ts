// What the console's routes share: its options, a client per signed-in person, the audit log, who sent a
// request; and the same-origin check every state-changing route runs before its CSRF check.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SopClient } from '../client';
import type { AnsweredDelivery } from '../serve/ingress';
import type { Access, Identity } from './access';
import type { AuditLog } from './audit';
import type { IdentityClients } from './clients';
import type { LiveReader } from './live';

export interface ConsoleOptions {
  sop: SopClient;
  access: Access;
  /** signs session and CSRF cookies (random per start when not given) */
  sessionSecret?: string;
  sessionHours?: number;
  /** the project `sop serve` serves: its catalog's triggers, and where the audit log goes */
  projectDir: string;
  /** the webhooks served (a webhook run's task id starts with `<hook>-`) */
  hooks: string[];
  /** the deliveries answered recently, oldest first */
  deliveries?: () => AnsweredDelivery[];
  live?: LiveReader;
  log?: (line: string) => void;
}

/** What the routes share. */
export interface ConsoleContext extends ConsoleOptions {
  clients: IdentityClients;
  audit: AuditLog;
  sessionHours: number;
  who(req: FastifyRequest): Identity;
}

/** Refuses a state-changing request whose Origin (or Referer) is another site's (with the CSRF token check). */
export async function sameOrigin(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const origin =
    req.headers.origin ?? (req.headers.referer ? new URL(req.headers.referer).origin : undefined);
  if (!origin) return; // no header to judge by: the CSRF token still has to match
  let sent = '';
  try {
    sent = new URL(origin).host;
  } catch {
    // "null" (an opaque origin) or garbage: another site's
  }
  if (sent !== req.headers.host) {
    reply.code(403);
    throw Object.assign(new Error(`a request from ${origin} cannot act on this console`), {
      statusCode: 403,
    });
  }
}
