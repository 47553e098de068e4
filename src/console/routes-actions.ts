// The console's actions (POST, each CSRF-checked and same-origin): sign in and out, answer a pending request,
// cancel and resume with a confirmation, pause and unpause a trigger. Each is sent as the signed-in person
// (their own Temporal client identity) and written to the audit log; a role that may not act gets 403, is
// recorded, and nothing is sent.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { scheduleIdOf } from '../triggers/schedules';
import { describeSensor, sensorIdOf, setSensorPaused } from '../triggers/sensors';
import { type Action, may } from './access';
import { type ConsoleContext, sameOrigin } from './context';
import { consoleUrl, html, page } from './html';
import { badRequest, runOf, statusWithin } from './requests';
import { answerFromForm } from './schema-form';
import { signIn, signOut } from './session';

type Form = Record<string, string>;
type Post = { Querystring: { id?: string }; Body: Form };

function refused(
  ctx: ConsoleContext,
  req: FastifyRequest,
  reply: FastifyReply,
  action: Action,
  target: string,
) {
  const who = ctx.who(req);
  ctx.audit.record(who, action, target, 'refused', `role ${who.role}`);
  return reply
    .code(403)
    .type('text/html')
    .send(
      page({
        title: '403',
        who,
        body: html`<h1>403</h1><p class="notice error" data-testid="error">${who.name} (${who.role}) may not ${action}: ${action === 'answer' ? 'approvers and operators' : 'operators'} can. Nothing was sent.</p><p><a href="${consoleUrl('/run', { id: target })}">back</a></p>`,
      }),
    );
}

function confirmPage(
  ctx: ConsoleContext,
  req: FastifyRequest,
  reply: FastifyReply,
  action: 'cancel' | 'resume',
  id: string,
) {
  const what =
    action === 'cancel'
      ? 'Cancel this run? The running harness is stopped; everything so far is kept.'
      : 'Resume this run? The steps that were in progress run again; everything accepted is kept.';
  return reply.type('text/html').send(
    page({
      title: `${action} ${id}`,
      who: ctx.who(req),
      body: html`<h1>${action === 'cancel' ? 'Cancel' : 'Resume'} ${id}</h1><p>${what}</p>
<form method="post" action="${consoleUrl(`/run/${action}`, { id })}"><input type="hidden" name="_csrf" value="${reply.generateCsrf()}"><input type="hidden" name="confirm" value="yes">
<button data-testid="confirm">Yes, ${action}</button> <a href="${consoleUrl('/run', { id })}">No, back to the run</a></form>`,
    }),
  );
}

const backToRun = (reply: FastifyReply, id: string) => reply.code(303).redirect(consoleUrl('/run', { id }));

export function registerActions(app: FastifyInstance, ctx: ConsoleContext): void {
  const guarded = { preHandler: [sameOrigin, app.csrfProtection] };

  app.post<{ Body: Form }>('/login', guarded, async (req, reply) => {
    const who = signIn(ctx.access, req.body?.token ?? '', reply, { hours: ctx.sessionHours });
    if (!who) {
      ctx.log?.('console: sign-in refused: unknown token');
      return reply
        .code(401)
        .type('text/html')
        .send(
          page({
            title: 'Sign in',
            body: html`<h1>Sign in</h1><p class="notice error">That token is not valid. <a href="/console/login">Try again</a>.</p>`,
          }),
        );
    }
    ctx.log?.(`console: ${who.name} (${who.role}) signed in`);
    return reply.code(303).redirect('/console/runs');
  });

  app.post('/logout', guarded, async (_req, reply) => {
    signOut(reply);
    return reply.code(303).redirect('/console/login');
  });

  app.post<Post>('/run/answer', guarded, async (req, reply) => {
    const run = runOf(req.query.id);
    const id = req.query.id as string;
    if (!run) return badRequest(reply, 'id: give a run as ?id=<workflow id>');
    const who = ctx.who(req);
    if (!may(who.role, 'answer')) return refused(ctx, req, reply, 'answer', id);
    const form = req.body ?? {};
    const client = ctx.clients.as(who);
    const status = await statusWithin(client, run);
    const pending = (status.pendingInputs ?? []).find((p) => p.requestId === form.requestId);
    if (!pending)
      return reply
        .code(409)
        .type('text/html')
        .send(
          page({
            title: '409',
            who,
            body: html`<h1>409</h1><p class="notice error">request ${form.requestId ?? '(none)'} no longer waits for an answer: someone answered it, or it was withdrawn. <a href="${consoleUrl('/run', { id })}">back to the run</a></p>`,
          }),
        );
    const answer = answerFromForm(pending, form);
    if ('problem' in answer) return badRequest(reply, answer.problem);
    try {
      await client.answer(run.sop, run.task, answer.value, pending.requestId);
    } catch (err) {
      ctx.audit.record(who, 'answer', id, 'failed', (err as Error).message);
      return reply
        .code(422)
        .type('text/html')
        .send(
          page({
            title: '422',
            who,
            body: html`<h1>422</h1><p class="notice error" data-testid="error">${(err as Error).message}</p><p><a href="${consoleUrl('/run', { id })}">back to the run</a></p>`,
          }),
        );
    }
    ctx.audit.record(who, 'answer', id, 'sent', `${pending.requestId}: ${JSON.stringify(answer.value)}`);
    return backToRun(reply, id);
  });

  for (const action of ['cancel', 'resume'] as const) {
    app.post<Post>(`/run/${action}`, guarded, async (req, reply) => {
      const run = runOf(req.query.id);
      const id = req.query.id as string;
      if (!run) return badRequest(reply, 'id: give a run as ?id=<workflow id>');
      const who = ctx.who(req);
      if (!may(who.role, action)) return refused(ctx, req, reply, action, id);
      if (req.body?.confirm !== 'yes') return confirmPage(ctx, req, reply, action, id);
      const client = ctx.clients.as(who);
      try {
        if (action === 'cancel') await client.cancel(run.sop, run.task);
        else await client.restart(run.sop, run.task, { resume: true });
      } catch (err) {
        ctx.audit.record(who, action, id, 'failed', (err as Error).message);
        return reply
          .code(409)
          .type('text/html')
          .send(
            page({
              title: '409',
              who,
              body: html`<h1>409</h1><p class="notice error" data-testid="error">${(err as Error).message}</p>`,
            }),
          );
      }
      ctx.audit.record(who, action, id, 'sent');
      return backToRun(reply, id);
    });
  }

  app.post<{ Body: Form }>('/triggers/pause', guarded, async (req, reply) => {
    const who = ctx.who(req);
    const ref = req.body?.trigger ?? '';
    const dot = ref.indexOf('.');
    if (dot <= 0) return badRequest(reply, 'trigger: give it as <sop>.<trigger>');
    if (!may(who.role, 'trigger')) {
      ctx.audit.record(who, 'trigger', ref, 'refused', `role ${who.role}`);
      return reply
        .code(403)
        .type('text/html')
        .send(
          page({
            title: '403',
            who,
            body: html`<h1>403</h1><p class="notice error">${who.name} (${who.role}) may not pause triggers: operators can. Nothing was sent.</p>`,
          }),
        );
    }
    const paused = req.body?.paused === 'true';
    const [sop, trigger] = [ref.slice(0, dot), ref.slice(dot + 1)];
    const client = ctx.clients.as(who).client;
    const note = `${paused ? 'paused' : 'unpaused'} by ${who.name} in the sop console`;
    const sensorId = sensorIdOf(sop, trigger);
    if ((await describeSensor(client, sensorId))?.status.name === 'RUNNING') {
      await setSensorPaused(client, sensorId, paused ? { paused: true, note } : { paused: false });
    } else {
      const handle = client.schedule.getHandle(scheduleIdOf(sop, trigger));
      await (paused ? handle.pause(note) : handle.unpause(note));
    }
    ctx.audit.record(who, 'trigger', ref, 'sent', paused ? 'pause' : 'unpause');
    return reply.code(303).redirect('/console/triggers');
  });
}
