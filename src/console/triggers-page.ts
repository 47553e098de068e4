// The triggers page: each declared trigger with its state (schedules: next fire, pause / unpause; sensors:
// watermark, last error), and the webhook deliveries `sop serve` answered recently with their codes.
import type { AnsweredDelivery } from '../serve/ingress';
import type { TriggerRow } from '../triggers/status';
import type { Identity } from './access';
import { may } from './access';
import { consoleUrl, type Html, html } from './html';

function pauseForm(row: TriggerRow, csrf: string): Html {
  if (row.kind !== 'schedule' && row.kind !== 'poll') return html``;
  if (row.state === 'not synced' || row.state === 'not declared') return html``;
  const paused = row.state.startsWith('paused');
  return html`<form method="post" action="${consoleUrl('/triggers/pause')}" class="inline">
<input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="trigger" value="${row.trigger}">
<input type="hidden" name="paused" value="${paused ? 'false' : 'true'}"><button data-testid="pause-${row.trigger}">${paused ? 'Unpause' : 'Pause'}</button></form>`;
}

export function triggersPageHtml(
  rows: TriggerRow[] | { problem: string },
  deliveries: AnsweredDelivery[],
  who: Identity,
  csrf: string,
): Html {
  const table =
    'problem' in rows
      ? html`<p class="warn">${rows.problem}</p>`
      : rows.length === 0
        ? html`<p class="muted">no SOP of the project declares a trigger</p>`
        : html`<table><thead><tr><th>Trigger</th><th>Kind</th><th>State</th><th>Last fire</th><th>Next fire</th><th>Watermark</th><th>Last run</th><th>Problems</th><th></th></tr></thead><tbody>
${rows.map(
  (
    r,
  ) => html`<tr data-testid="trigger-row"><td>${r.trigger}</td><td>${r.kind}</td><td>${r.state}</td><td>${r.lastFire ?? ''}</td><td>${r.nextFire ?? ''}</td>
<td>${r.watermark ?? ''}</td><td>${r.lastRun ? html`<a href="${consoleUrl('/run', { id: r.lastRun })}">${r.lastRun}</a>` : ''}</td>
<td class="warn">${r.errors.join('; ')}</td><td>${may(who.role, 'trigger') ? pauseForm(r, csrf) : ''}</td></tr>`,
)}</tbody></table>`;
  return html`<h1>Triggers</h1>${table}
<h2>Recent webhook deliveries</h2>
${deliveries.length ? html`<table><thead><tr><th>At</th><th>Hook</th><th>Answer</th><th>Note</th></tr></thead><tbody>${[...deliveries].reverse().map((d) => html`<tr><td>${d.at.slice(0, 19).replace('T', ' ')}</td><td>${d.hook}</td><td>${d.code}</td><td>${d.note}</td></tr>`)}</tbody></table>` : html`<p class="muted">no delivery since sop serve started</p>`}`;
}
