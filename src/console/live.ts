// Live agent activity on a run's page: what each running execution of the run (and of its open child runs)
// is doing now, from the agent activity's heartbeat details (src/client/live-activity.ts reads them with one
// describe per workflow; no history, no shared disk). The page's script refreshes this section every 0.7 s.
import type { Client } from '@temporalio/client';
import { actionText, liveExecutions, liveLabel } from '../client/live-activity';
import type { LiveAction, LiveActivity, LiveExecution } from '../shapes/live-activity';
import { type Html, html } from './html';

export type LiveReader = (client: Client, workflowId: string) => Promise<LiveExecution[]>;

export const readLive: LiveReader = (client, workflowId) => liveExecutions(client, workflowId);

/** The live section's inner HTML. */
export function liveInner(views: LiveExecution[] | { problem: string }): Html {
  if ('problem' in views) return html`<p class="muted">live activity unavailable: ${views.problem}</p>`;
  if (views.length === 0) return html`<p class="muted">no agent execution running now</p>`;
  return html`${views.map(({ workflowId, activity: a }) => {
    const tokens =
      a.tokens.input + a.tokens.output > 0
        ? html` <small>${a.tokens.input} in / ${a.tokens.output} out tokens so far</small>`
        : '';
    const earlier = a.seq - a.actions.length;
    return html`<div class="live-execution"><h3>${liveLabel(a)} · ${a.harness}${tokens}</h3>
${workflowId.includes('/') && views.some((v) => v.workflowId !== workflowId) ? html`<p class="muted">in ${workflowId}</p>` : ''}
${earlier > 0 ? html`<p class="muted">${earlier} earlier action(s) are in the transcript in the run folder</p>` : ''}
<ol class="live-actions" data-testid="live-actions">${actionItems(a.actions)}</ol>
${a.actions.length === 0 ? html`<p class="muted">no action yet</p>` : ''}</div>`;
  })}`;
}

/** Each action as a list item: its time (the worker's, in full in `datetime`) and what it was. */
function actionItems(actions: LiveAction[]): Html {
  return html`${actions.map((x) => html`<li class="live-${x.kind}" data-seq="${x.seq}"><time datetime="${x.at}">${x.at.slice(11, 19)}</time> ${actionText(x)}</li>`)}`;
}

/**
 * An ended execution's actions as its result in history carries them (the live view's ring as it ended),
 * collapsed (`key`: which one it is on the page, so the page keeps it open when it reloads itself); the ones
 * the ring dropped are named, with where to read them (as `sop logs --follow` does).
 */
export function endedActions(a: LiveActivity, key: string): Html {
  const dropped = a.seq - a.actions.length;
  const first = a.actions[0]?.seq ?? a.seq + 1;
  return html`<details class="actions" data-testid="ended-actions" data-key="${key}"><summary>${a.actions.length === a.seq ? `${a.seq} action(s)` : `last ${a.actions.length} of ${a.seq} actions`}</summary>
${dropped > 0 ? html`<p class="muted">… ${dropped} more, see <code>sop logs --raw ${a.step}</code></p>` : ''}
<ol class="live-actions" start="${first}">${actionItems(a.actions)}</ol></details>`;
}
