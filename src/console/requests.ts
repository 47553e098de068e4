// Reading a request's run and answering a bad one.
import type { FastifyReply } from 'fastify';
import type { SopClient } from '../client';
import type { RunStatusView } from '../shapes/messages';
import { html, page } from './html';

/** `<sop>/<task>` (a child run: `<parent sop>/<parent task>/<step>`) as SopClient addresses it. */
export function runOf(workflowId: string | undefined): { sop: string; task: string } | undefined {
  const slash = workflowId?.indexOf('/') ?? -1;
  if (!workflowId || slash <= 0 || slash === workflowId.length - 1) return undefined;
  return { sop: workflowId.slice(0, slash), task: workflowId.slice(slash + 1) };
}

export function badRequest(reply: FastifyReply, why: string) {
  return reply
    .code(400)
    .type('text/html')
    .send(page({ title: '400', body: html`<h1>400</h1><p class="notice error">${why}</p>` }));
}

/** How long a page waits for a worker to answer a run's status query. */
const STATUS_DEADLINE_MS = 10_000;

/** The run's status query, failing after STATUS_DEADLINE_MS (no worker polls its queue) instead of hanging. */
export function statusWithin(sop: SopClient, run: { sop: string; task: string }): Promise<RunStatusView> {
  return sop.client.connection.withDeadline(Date.now() + STATUS_DEADLINE_MS, () =>
    sop.status(run.sop, run.task),
  );
}
