// The runs list: filters (SOP, status, trigger, parent, text), one page of runs and the link to the next.
import { SOP_STATUSES } from '../temporal/search-attributes';
import { consoleUrl, type Html, html, statusClass } from './html';
import type { RunsPage } from './runs-data';
import { RUN_TRIGGERS, type RunsFilter } from './runs-query';

const when = (d: Date | undefined) => (d ? d.toISOString().slice(0, 19).replace('T', ' ') : '');

function select(name: string, values: readonly string[], chosen: string | undefined, any: string): Html {
  return html`<select name="${name}" id="filter-${name}"><option value="">${any}</option>${values.map((v) => html`<option value="${v}"${v === chosen ? ' selected' : ''}>${v}</option>`)}</select>`;
}

export function runsPageHtml(filter: RunsFilter, page: RunsPage, sops: string[]): Html {
  const { page: _token, ...kept } = filter;
  const rows = page.rows.map(
    (
      r,
    ) => html`<tr data-testid="run-row"><td>${r.sop}</td><td><a href="${consoleUrl('/run', { id: r.workflowId })}">${r.task}</a></td>
<td><span class="${statusClass(r.status)}">${r.status}</span></td><td>${r.trigger.kind}${r.trigger.detail ? html` <small>${r.trigger.detail}</small>` : ''}</td>
<td>${r.parent ? html`<a href="${consoleUrl('/run', { id: r.parent })}">${r.parent}</a>` : ''}</td><td>${when(r.startTime)}</td><td>${when(r.closeTime)}</td></tr>`,
  );
  return html`<h1>Runs</h1>
<form method="get" action="/console/runs" class="filters">
${select('sop', filter.sop && !sops.includes(filter.sop) ? [...sops, filter.sop] : sops, filter.sop, 'any SOP')}${select('status', SOP_STATUSES, filter.status, 'any status')}${select('trigger', RUN_TRIGGERS, filter.trigger, 'any trigger')}
<input name="parent" placeholder="parent workflow id" value="${filter.parent ?? ''}">
<input name="q" placeholder="task id starts with" value="${filter.q ?? ''}">
<label><input type="checkbox" name="all" value="1"${filter.all ? ' checked' : ''}> test and child runs</label>
<button>Filter</button></form>
<p class="muted" data-testid="total">${page.total} run${page.total === 1 ? '' : 's'}</p>
<table class="runs"><thead><tr><th>SOP</th><th>Task</th><th>Status</th><th>Trigger</th><th>Parent</th><th>Started</th><th>Closed</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="7" class="muted">no runs</td></tr>`}</tbody></table>
<nav class="pages">${filter.page ? html`<a href="${consoleUrl('/runs', kept as Record<string, string>)}">first page</a>` : ''}
${page.next ? html`<a href="${consoleUrl('/runs', { ...(kept as Record<string, string>), page: page.next })}" data-testid="next-page">next page</a>` : ''}</nav>`;
}
