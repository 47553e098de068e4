// The webhook ingress of `sop serve` (Fastify): POST /hooks/<name> reads the raw body (within the body
// limit), checks its signature in constant time before anything parses it, applies the hook's filter,
// maps the payload to a run request and starts the run once per delivery id. GET /healthz answers a load
// balancer. Nothing of a body is ever logged; a bad signature is answered 401 and starts nothing.
import { ServiceError } from '@temporalio/client';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { RunRequest } from '../shapes/run-request';
import { WebhookPayloadSchema, type WebhookRunMemo } from '../shapes/trigger-shapes';
import type { WebhookSpec } from '../shapes/triggers';
import { TemporalUnavailableError } from '../temporal/connect';
import { deliveryId, deliveryTaskId } from './delivery';
import { filterMiss } from './filter';
import { SIGNATURE_HEADER, type SignatureKind, signatureMatches } from './signature';

/** One declared webhook trigger, ready to serve. */
export interface WebhookHook {
  name: string;
  sop: string;
  /** the webhook as the compiled plan declares it: signature, secret variable, filter, dedupe */
  spec: WebhookSpec;
  /** the run request for a verified, accepted delivery (the trigger's input: and repo: mapping) */
  request(delivery: HookDelivery): { request: RunRequest } | { problem: string };
}

export interface HookDelivery {
  hook: string;
  event?: string;
  delivery: string;
  headers: Record<string, string | string[] | undefined>;
  payload: Record<string, unknown>;
}

export interface StartedRun {
  started: boolean;
  workflowId: string;
  runId: string;
}

export interface IngressOptions {
  hooks: ReadonlyMap<string, WebhookHook>;
  /** starts the run unless its task exists (SopClient.startOnce) */
  start(request: RunRequest & { task: string }, memo: Record<string, unknown>): Promise<StartedRun>;
  env?: NodeJS.ProcessEnv;
  /** the largest body accepted, in bytes (default 1 MiB, GitHub's own limit is 25 MB) */
  bodyLimit?: number;
  /** one line per delivery: hook, delivery id, answer (never the body) */
  log?: (line: string) => void;
  /** seconds a sender should wait before retrying when Temporal is unreachable */
  retryAfterSeconds?: number;
  /** every delivery's answer (the console lists the recent ones) */
  answered?: (delivery: AnsweredDelivery) => void;
}

/** A delivery as it was answered: when, which hook, the HTTP code and why (never the body). */
export interface AnsweredDelivery {
  at: string;
  hook: string;
  code: number;
  note: string;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Where each kind reads the event type from. */
const EVENT_HEADER: Record<SignatureKind, string> = {
  github: 'x-github-event',
  'hmac-sha256': 'x-event-type',
};

export function buildIngress(options: IngressOptions): FastifyInstance {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT });
  // Bodies stay raw bytes: the signature is checked over exactly what was sent, before any parsing.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.get('/healthz', async () => ({ status: 'ok', hooks: [...options.hooks.keys()] }));

  app.post<{ Params: { name: string } }>('/hooks/:name', async (req, reply) => {
    const hook = options.hooks.get(req.params.name);
    const answer = (code: number, body: Record<string, unknown>, note: string) => {
      log(`hook ${req.params.name}: ${code} ${note}`);
      options.answered?.({ at: new Date().toISOString(), hook: req.params.name, code, note });
      return reply.code(code).send(body);
    };
    if (!hook) {
      return answer(
        404,
        { error: `no webhook named "${req.params.name}"`, hooks: [...options.hooks.keys()] },
        'unknown hook',
      );
    }
    const secret = env[hook.spec.secretEnv];
    if (!secret) {
      return answer(
        500,
        {
          error: `webhook ${hook.name}: its secret variable ${hook.spec.secretEnv} is not set on this server`,
        },
        `secret variable ${hook.spec.secretEnv} unset`,
      );
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const header = req.headers[SIGNATURE_HEADER[hook.spec.signature]];
    if (!signatureMatches(hook.spec.signature, secret, body, Array.isArray(header) ? header[0] : header)) {
      return answer(
        401,
        { error: `missing or wrong signature (header ${SIGNATURE_HEADER[hook.spec.signature]})` },
        header ? 'wrong signature' : 'no signature',
      );
    }
    const payload = WebhookPayloadSchema.safeParse(jsonOrUndefined(body.toString('utf8'))).data;
    if (!payload) {
      return answer(
        400,
        { error: 'the body is not a JSON object (send content type application/json)' },
        'not JSON',
      );
    }
    const eventHeader = req.headers[EVENT_HEADER[hook.spec.signature]];
    const event = Array.isArray(eventHeader) ? eventHeader[0] : eventHeader;
    const miss = filterMiss(hook.spec.filter, event, payload);
    if (miss) return answer(200, { status: 'ignored', reason: miss }, `ignored: ${miss}`);
    const id = deliveryId(hook.spec.dedupe, req.headers, payload);
    if ('problem' in id) return answer(400, { error: id.problem }, id.problem);
    const mapped = hook.request({ hook: hook.name, event, delivery: id.id, headers: req.headers, payload });
    if ('problem' in mapped)
      return answer(422, { error: mapped.problem }, `delivery ${id.id}: ${mapped.problem}`);
    const task = deliveryTaskId(hook.name, id.id);
    try {
      const run = await options.start(
        { ...mapped.request, sop: hook.sop, task },
        { trigger: webhookRunMemo(hook.name, id.id, event) },
      );
      const status = run.started ? 'started' : 'duplicate';
      return answer(
        run.started ? 202 : 200,
        { status, workflowId: run.workflowId, runId: run.runId },
        `delivery ${id.id}: ${status} ${run.workflowId}`,
      );
    } catch (err) {
      return temporalProblem(reply, err, options.retryAfterSeconds ?? 10, (line) =>
        log(`hook ${hook.name}: delivery ${id.id}: ${line}`),
      );
    }
  });
  return app;
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The run's memo `trigger`: which hook and delivery started it. */
const webhookRunMemo = (hook: string, delivery: string, event: string | undefined): WebhookRunMemo => ({
  kind: 'webhook',
  hook,
  delivery,
  ...(event ? { event } : {}),
});

/** gRPC codes that mean "Temporal is not there now": the sender should retry later. */
const UNAVAILABLE_CODES = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

export function isTemporalUnavailable(err: unknown): boolean {
  if (err instanceof TemporalUnavailableError) return true;
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number' && UNAVAILABLE_CODES.has(code)) return true;
    if (!(e instanceof ServiceError) && !(e instanceof Error)) break;
  }
  return false;
}

function temporalProblem(reply: FastifyReply, err: unknown, retryAfter: number, log: (line: string) => void) {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  if (isTemporalUnavailable(err)) {
    log(`503 Temporal unavailable: ${message}`);
    return reply
      .code(503)
      .header('Retry-After', String(retryAfter))
      .send({ error: `Temporal is unavailable, nothing was started; retry later: ${message}` });
  }
  log(`500 ${message}`);
  return reply.code(500).send({ error: `the run could not be started: ${message}` });
}
