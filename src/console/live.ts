// Live agent activity on a run's page: what each running execution of the run is doing now, read from the
// agent activity's heartbeat details (the shape is LiveActivity, branch `live`): describe the workflow, decode
// the pending activities' heartbeat details, keep those that are live activity. No history is read.
import type { Client } from '@temporalio/client';
import { type Html, html } from './html';

/** The parts of a live action the console shows (LiveAction, discriminated on kind). */
export interface LiveActionView {
  seq: number;
  at: string;
  kind: string;
  phase?: string;
  command?: string;
  exitCode?: number;
  output?: string;
  change?: string;
  path?: string;
  server?: string;
  tool?: string;
  input?: string;
  error?: string;
  reason?: string;
  approved?: boolean;
  by?: string;
  text?: string;
}

export interface LiveView {
  activityId: string;
  step: string;
  role: string;
  attempt: number;
  item?: string;
  harness: string;
  seq: number;
  actions: LiveActionView[];
  tokens?: { input: number; output: number };
  updatedAt?: string;
}

export type LiveReader = (client: Client, workflowId: string) => Promise<LiveView[]>;

/** The live activity of a workflow's running executions, from its pending activities' heartbeat details. */
export const readLive: LiveReader = async (client, workflowId) => {
  const described = await client.workflow.getHandle(workflowId).describe();
  const converter = client.options.loadedDataConverter.payloadConverter;
  const found: LiveView[] = [];
  for (const pending of described.raw.pendingActivities ?? []) {
    const payload = pending.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    let details: unknown;
    try {
      details = converter.fromPayload(payload);
    } catch {
      continue;
    }
    const d = details as Partial<LiveView> & { live?: unknown };
    if (d?.live !== 1 || !Array.isArray(d.actions)) continue;
    found.push({ ...(d as LiveView), activityId: pending.activityId ?? '' });
  }
  return found;
};

function actionText(a: LiveActionView): string {
  switch (a.kind) {
    case 'command':
      return a.phase === 'finished'
        ? `$ ${a.command} → exit ${a.exitCode ?? '?'}${a.output ? `: ${a.output}` : ''}`
        : `$ ${a.command}`;
    case 'file':
      return `${a.change} ${a.path}`;
    case 'tool':
      return `${a.server ? `${a.server}.` : ''}${a.tool}${a.input ? ` ${a.input}` : ''}${a.error ? ` → ${a.error}` : ''}`;
    case 'denial':
      return `denied ${a.tool}: ${a.reason}`;
    case 'approval':
      return a.phase === 'asked'
        ? `asks approval for ${a.tool}${a.input ? ` ${a.input}` : ''}`
        : `${a.tool} ${a.approved ? 'approved' : 'rejected'}${a.by ? ` by ${a.by}` : ''}`;
    default:
      return a.text ?? a.kind;
  }
}

/** The live section's inner HTML (the page's script refreshes it every 2 s while the run runs). */
export function liveInner(views: LiveView[] | { problem: string }): Html {
  if ('problem' in views) return html`<p class="muted">live activity unavailable: ${views.problem}</p>`;
  if (views.length === 0) return html`<p class="muted">no agent execution running now</p>`;
  return html`${views.map(
    (
      v,
    ) => html`<div class="live-execution"><h3>${v.step}${v.item ? ` [${v.item}]` : ''} · ${v.role} · attempt ${v.attempt} · ${v.harness}
${v.tokens ? html`<small>${v.tokens.input} in / ${v.tokens.output} out tokens so far</small>` : ''}</h3>
<ol class="live-actions" data-testid="live-actions">${v.actions.map((a) => html`<li class="live-${a.kind}" data-seq="${a.seq}"><time>${a.at.slice(11, 19)}</time> ${actionText(a)}</li>`)}</ol></div>`,
  )}`;
}
