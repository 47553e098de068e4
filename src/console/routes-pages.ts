// The console's pages (GET): runs, a run (and its live section, status and evidence check), triggers, sign-in.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RunNotFoundError } from '../client';
import { endedExecutions } from '../client/live-activity';
import { readHistoryEvidence } from '../evidence/history';
import { verifyRunFolder } from '../evidence/verify';
import { Catalog } from '../sop/catalog';
import { triggerRows } from '../triggers/status';
import type { ConsoleContext } from './context';
import { html, page } from './html';
import { liveInner, readLive } from './live';
import { badRequest, runOf, statusWithin } from './requests';
import { executionChanges, listArtifacts, readExecutions } from './run-folder';
import { runPage, runPageState } from './run-page';
import { gatherRunView, historyOnce, type RunHistoryReader, runFolderOf } from './run-view';
import { runsPage } from './runs-data';
import { runsPageHtml } from './runs-page';
import { RunsFilterSchema, runsQuery } from './runs-query';
import { triggersPageHtml } from './triggers-page';

type IdQuery = { Querystring: { id?: string } };

/** The run's view, or the 404 page sent (undefined). */
async function viewOr404(
  ctx: ConsoleContext,
  req: FastifyRequest<IdQuery>,
  reply: FastifyReply,
  history?: RunHistoryReader,
) {
  const run = runOf(req.query.id);
  if (!run) return void badRequest(reply, 'id: give a run as ?id=<workflow id> (SOP/TASK)');
  try {
    return { run, view: await gatherRunView(ctx.sop, run.sop, run.task, history) };
  } catch (err) {
    if (!(err instanceof RunNotFoundError)) throw err;
    reply
      .code(404)
      .type('text/html')
      .send(
        page({
          title: '404',
          who: ctx.who(req),
          body: html`<h1>404</h1><p class="notice error">no run ${req.query.id}</p>`,
        }),
      );
    return undefined;
  }
}

/** The ended agent executions of the run with their last actions, or why history could not be read. */
async function endedActionsOf(history: RunHistoryReader, workflowId: string) {
  try {
    return (await history()).flatMap((h) => endedExecutions(workflowId, h.runId, h.events));
  } catch (err) {
    return { problem: (err as Error).message.split('\n')[0] };
  }
}

const folderOf = (view: Record<string, unknown>) => (view.workspace ? runFolderOf(view) : undefined);

export function registerPages(app: FastifyInstance, ctx: ConsoleContext): void {
  const live = ctx.live ?? readLive;
  // the SOP filter's choices: the catalog read again at most every 30 s, not on every page
  let catalogNames: { names: string[]; at: number } | undefined;
  const sopNames = () => {
    if (!catalogNames || Date.now() - catalogNames.at > 30_000)
      catalogNames = {
        names: new Catalog({ projectDir: ctx.projectDir }).entries.map((e) => e.name),
        at: Date.now(),
      };
    return catalogNames.names;
  };
  const identities = (req: FastifyRequest) => {
    try {
      return ctx.who(req);
    } catch {
      return undefined;
    }
  };
  const send = (req: FastifyRequest, reply: FastifyReply, title: string, body: ReturnType<typeof html>) =>
    reply.type('text/html').send(page({ title, who: ctx.who(req), csrf: reply.generateCsrf(), body }));

  app.get('/', async (_req, reply) => reply.redirect('/console/runs'));

  app.get<{ Querystring: Record<string, string> }>('/runs', async (req, reply) => {
    const filter = RunsFilterSchema.safeParse(req.query);
    if (!filter.success) {
      const issue = filter.error.issues[0];
      return badRequest(reply, `${issue.path.join('.')}: ${issue.message}`);
    }
    const data = await runsPage(ctx.sop, runsQuery(filter.data, ctx.hooks), filter.data.page);
    const sops = sopNames();
    return send(req, reply, 'Runs', runsPageHtml(filter.data, data, sops));
  });

  app.get<IdQuery>('/run', async (req, reply) => {
    // the run's history, read once for the page: the ended executions' actions, who answered tool approvals
    const history = historyOnce(ctx.sop, req.query.id ?? '');
    const found = await viewOr404(ctx, req, reply, history);
    if (!found) return reply;
    const { view } = found;
    const folder = folderOf(view);
    const running = view.status === 'running' || view.status === 'waiting_input';
    const data = {
      workflowId: req.query.id as string,
      view,
      executions: folder ? readExecutions(folder) : [],
      changes: folder && view.workspace ? executionChanges(folder, String(view.workspace)) : [],
      artifacts: folder ? listArtifacts(folder) : [],
      live: running
        ? await live(ctx.sop.client, req.query.id as string).catch((err: Error) => ({ problem: err.message }))
        : [],
      ended: await endedActionsOf(history, req.query.id as string),
    };
    return send(req, reply, `${view.sop}/${view.task}`, runPage(data, ctx.who(req), reply.generateCsrf()));
  });

  app.get<IdQuery>('/run/live', async (req, reply) => {
    if (!runOf(req.query.id)) return badRequest(reply, 'id: give a run as ?id=<workflow id>');
    const views = await live(ctx.sop.client, req.query.id as string).catch((err: Error) => ({
      problem: err.message,
    }));
    return reply.type('text/html').send(liveInner(views).text);
  });

  /** What the page's script compares to decide to reload: the status and the pending requests. */
  app.get<IdQuery>('/run/status', async (req, reply) => {
    const run = runOf(req.query.id);
    if (!run) return badRequest(reply, 'id: give a run as ?id=<workflow id>');
    const described = await ctx.sop.describe(run.sop, run.task);
    if (described.status.name !== 'RUNNING') return { state: described.status.name.toLowerCase() };
    const status = await statusWithin(ctx.sop, run);
    return { state: runPageState(status.status, status.pendingInputs, status.active) };
  });

  app.get<IdQuery>('/run/evidence', async (req, reply) => {
    const found = await viewOr404(ctx, req, reply);
    if (!found) return reply;
    const folder = folderOf(found.view);
    if (!folder)
      return badRequest(
        reply,
        'the run does not record its workspace: its run folder cannot be checked here',
      );
    const history = await readHistoryEvidence(ctx.sop.client, req.query.id as string);
    const result = verifyRunFolder(folder, history);
    return send(
      req,
      reply,
      'Evidence',
      html`<h1>Evidence of <a href="/console/run?id=${encodeURIComponent(req.query.id as string)}">${req.query.id}</a></h1>
<p class="notice${result.ok ? '' : ' error'}" data-testid="evidence-result">${result.ok ? 'OK' : 'PROBLEMS'}: ${result.checked.files} files, ${result.checked.records} evidence records, against ${result.checked.history ?? 0} execution(s) of history</p>
${result.problems.length ? html`<ul>${result.problems.map((p) => html`<li>${p}</li>`)}</ul>` : ''}
<h2>Coverage</h2><p>compared with history: ${result.coverage.history.length} · with evidence records: ${result.coverage.records.length} · unchecked: ${result.coverage.unchecked.length}</p>
${result.coverage.notes.length ? html`<ul>${result.coverage.notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}`,
    );
  });

  app.get('/triggers', async (req, reply) => {
    const rows = await triggerRows(
      ctx.sop.client,
      new Catalog({ projectDir: ctx.projectDir }),
      ctx.sop.target.taskQueue,
    ).catch((err: Error) => ({ problem: `the triggers cannot be read: ${err.message.split('\n')[0]}` }));
    return send(
      req,
      reply,
      'Triggers',
      triggersPageHtml(rows, ctx.deliveries?.() ?? [], ctx.who(req), reply.generateCsrf()),
    );
  });

  app.get('/login', async (req, reply) => {
    if (!ctx.access.tokens) return reply.redirect('/console/runs');
    const signedIn = identities(req);
    if (signedIn)
      return send(
        req,
        reply,
        'Signed in',
        html`<h1>Signed in</h1><p>You are signed in as ${signedIn.name} (${signedIn.role}). <a href="/console/runs">Runs</a></p>`,
      );
    return reply.type('text/html').send(
      page({
        title: 'Sign in',
        body: html`<h1>Sign in</h1><form method="post" action="/console/login"><input type="hidden" name="_csrf" value="${reply.generateCsrf()}">
<label for="token">Console token</label> <input id="token" name="token" type="password" autocomplete="current-password" required> <button>Sign in</button></form>`,
      }),
    );
  });
}
