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
import { SIGNATURE_HEADER, type SignatureKind, verifySignature } from './signature';

/** One declared webhook trigger, ready to serve. */
export interface WebhookHook {
  name: string;
  sop: string;
  /** the trigger's name in the SOP's `triggers:` */
  trigger: string;
  /** the webhook as the compiled plan declares it: signature, secret variable, filter, dedupe */
  spec: WebhookSpec;
  /** the run request for a verified, accepted delivery (the trigger's input: and repo: mapping) */
  request(delivery: HookDelivery): { request: RunRequest } | { problem: string };
}

/** One URL, POST /hooks/<name>, and the triggers behind it (one, or any number on the shared hook). */
export interface HookGroup {
  name: string;
  /** the GitHub App's hook (SHARED_HOOK): fanned out to every trigger whose filter matches */
  shared: boolean;
  /** how every delivery to it is verified */
  spec: Pick<WebhookSpec, 'secretEnv' | 'signature'>;
  triggers: WebhookHook[];
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

/** What became of a review event on the shared hook (reviews.ts): the run it reached, or why none. */
export interface RoutedReview {
  status: 'delivered' | 'follow_up' | 'duplicate' | 'refused' | 'ignored';
  workflowId?: string;
  runId?: string;
  reason?: string;
}

export interface IngressOptions {
  hooks: ReadonlyMap<string, HookGroup>;
  /** starts the run unless its task exists (SopClient.startOnce) */
  start(request: RunRequest & { task: string }, memo: Record<string, unknown>): Promise<StartedRun>;
  /**
   * the shared hook: a review, review comment or comment on a pull request goes to the run owning its head
   * branch (undefined: the event is not one of those)
   */
  routeReview?(delivery: HookDelivery): Promise<RoutedReview | undefined>;
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

type Answer = (code: number, body: Record<string, unknown>, note: string) => FastifyReply;

export function buildIngress(options: IngressOptions): FastifyInstance {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT });
  // Bodies stay raw bytes: the signature is checked over exactly what was sent, before any parsing.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.get('/healthz', async () => ({ status: 'ok', hooks: [...options.hooks.keys()] }));

  app.post<{ Params: { name: string } }>('/hooks/:name', async (req, reply) => {
    const group = options.hooks.get(req.params.name);
    const answer: Answer = (code, body, note) => {
      log(`hook ${req.params.name}: ${code} ${note}`);
      options.answered?.({ at: new Date().toISOString(), hook: req.params.name, code, note });
      return reply.code(code).send(body);
    };
    if (!group) {
      return answer(
        404,
        { error: `no webhook named "${req.params.name}"`, hooks: [...options.hooks.keys()] },
        'unknown hook',
      );
    }
    const secret = env[group.spec.secretEnv];
    if (!secret) {
      return answer(
        500,
        {
          error: `webhook ${group.name}: its secret variable ${group.spec.secretEnv} is not set on this server`,
        },
        `secret variable ${group.spec.secretEnv} unset`,
      );
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const headerName = SIGNATURE_HEADER[group.spec.signature];
    const header = req.headers[headerName];
    const signature = Array.isArray(header) ? header[0] : header;
    if (!(await verifySignature(group.spec.signature, secret, body, signature))) {
      return answer(
        401,
        {
          error: `${signature ? 'wrong' : 'missing'} signature: ${headerName} must be sha256=<hex> of the HMAC-SHA256 of the exact body under the secret in ${group.spec.secretEnv}; nothing was started`,
        },
        signature ? 'wrong signature' : 'no signature',
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
    const eventHeader = req.headers[EVENT_HEADER[group.spec.signature]];
    const event = Array.isArray(eventHeader) ? eventHeader[0] : eventHeader;
    const retryAfter = options.retryAfterSeconds ?? 10;
    if (group.shared)
      return fanOut(options, group, { event, headers: req.headers, payload }, answer, reply, log, retryAfter);
    const hook = group.triggers[0];
    const miss = filterMiss(hook.spec.filter, event, payload);
    if (miss) return answer(200, { status: 'ignored', reason: miss }, `ignored: ${miss}`);
    const id = deliveryId(hook.spec.dedupe, req.headers, payload);
    if ('problem' in id) return answer(400, { error: id.problem }, id.problem);
    const delivery = { hook: hook.name, event, delivery: id.id, headers: req.headers, payload };
    const started = await startFor(options, hook, delivery, deliveryTaskId(hook.name, id.id));
    if (started.kind === 'refused')
      return answer(422, { error: started.problem }, `delivery ${id.id}: ${started.problem}`);
    if (started.kind === 'error')
      return temporalProblem(reply, started.err, retryAfter, (line) =>
        log(`hook ${hook.name}: delivery ${id.id}: ${line}`),
      );
    const { run } = started;
    const status = run.started ? 'started' : 'duplicate';
    return answer(
      run.started ? 202 : 200,
      { status, workflowId: run.workflowId, runId: run.runId },
      `delivery ${id.id}: ${status} ${run.workflowId}`,
    );
  });
  return app;
}

type Start =
  | { kind: 'run'; run: StartedRun }
  | { kind: 'refused'; problem: string }
  | { kind: 'error'; err: unknown };

/** Maps the delivery to the trigger's run request and starts it once (its task id carries the delivery). */
async function startFor(
  options: IngressOptions,
  hook: WebhookHook,
  delivery: HookDelivery,
  task: string,
): Promise<Start> {
  const mapped = hook.request(delivery);
  if ('problem' in mapped) return { kind: 'refused', problem: mapped.problem };
  try {
    const run = await options.start(
      { ...mapped.request, sop: hook.sop, task },
      { trigger: webhookRunMemo(delivery.hook, delivery.delivery, delivery.event) },
    );
    return { kind: 'run', run };
  } catch (err) {
    return { kind: 'error', err };
  }
}

/** One trigger's part in a fanned-out delivery, as the answer lists it. */
interface FanOutRun {
  sop: string;
  trigger: string;
  status: 'started' | 'duplicate' | 'refused';
  workflowId?: string;
  runId?: string;
  error?: string;
}

/**
 * The shared hook: every trigger whose filter matches starts its run, `<sop>/<trigger>-<delivery id>`, so a
 * run is deduplicated per trigger and delivery; a review event goes to the run owning the pull request.
 * 202 when anything started or reached a run, 200 when all was a duplicate or nothing matched, 422 when
 * every matching trigger refused the payload, 503 when Temporal could not be reached (the sender retries;
 * what was started meanwhile is then a duplicate).
 */
async function fanOut(
  options: IngressOptions,
  group: HookGroup,
  parsed: Pick<HookDelivery, 'event' | 'headers' | 'payload'>,
  answer: Answer,
  reply: FastifyReply,
  log: (line: string) => void,
  retryAfter: number,
) {
  const id = deliveryId({ from: 'header', name: 'X-GitHub-Delivery' }, parsed.headers, parsed.payload);
  if ('problem' in id) return answer(400, { error: id.problem }, id.problem);
  const delivery: HookDelivery = { hook: group.name, delivery: id.id, ...parsed };
  const runs: FanOutRun[] = [];
  const ignored: { sop: string; trigger: string; reason: string }[] = [];
  for (const hook of group.triggers) {
    const miss = filterMiss(hook.spec.filter, parsed.event, parsed.payload);
    if (miss) {
      ignored.push({ sop: hook.sop, trigger: hook.trigger, reason: miss });
      continue;
    }
    const started = await startFor(options, hook, delivery, deliveryTaskId(hook.trigger, id.id));
    const who = { sop: hook.sop, trigger: hook.trigger };
    if (started.kind === 'error')
      return temporalProblem(reply, started.err, retryAfter, (line) =>
        log(`hook ${group.name}: delivery ${id.id}: ${hook.sop}.${hook.trigger}: ${line}`),
      );
    if (started.kind === 'refused') runs.push({ ...who, status: 'refused', error: started.problem });
    else
      runs.push({
        ...who,
        status: started.run.started ? 'started' : 'duplicate',
        workflowId: started.run.workflowId,
        runId: started.run.runId,
      });
  }
  let review: RoutedReview | undefined;
  try {
    review = await options.routeReview?.(delivery);
  } catch (err) {
    return temporalProblem(reply, err, retryAfter, (line) =>
      log(`hook ${group.name}: delivery ${id.id}: review: ${line}`),
    );
  }
  const started = runs.filter((r) => r.status === 'started').length;
  const reached = review && (review.status === 'delivered' || review.status === 'follow_up');
  const status =
    started > 0 || reached
      ? 'started'
      : runs.some((r) => r.status === 'duplicate') || review?.status === 'duplicate'
        ? 'duplicate'
        : runs.length > 0
          ? 'refused'
          : 'ignored';
  const code = status === 'started' ? 202 : status === 'refused' ? 422 : 200;
  const note = [
    ...runs.map((r) => `${r.sop}.${r.trigger} ${r.status}${r.workflowId ? ` ${r.workflowId}` : ''}`),
    ...(review ? [`review ${review.status}${review.workflowId ? ` ${review.workflowId}` : ''}`] : []),
  ];
  return answer(
    code,
    { status, delivery: id.id, runs, ...(review ? { review } : {}), ignored },
    `delivery ${id.id}: ${status}${note.length ? ` (${note.join(', ')})` : ''}`,
  );
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

function isTemporalUnavailable(err: unknown): boolean {
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
