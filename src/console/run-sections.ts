// The sections of a run's page that show what happened: steps and attempts with their routes, answers,
// denials, usage and cost (child runs rolled up), parent and children.
import type { ExecutionRecord } from '../activities/run-summary';
import { describeDenial } from '../shapes/denial-text';
import { executionLabel } from '../shapes/execution-label';
import type { LiveActivity, LiveExecution } from '../shapes/live-activity';
import type { ActiveRole } from '../shapes/messages';
import type { AnswerRecord, DeniedCall, RouteTaken, RunUsage } from '../shapes/run';
import { consoleUrl, type Html, html, statusClass } from './html';
import { endedActions } from './live';

const when = (iso: string | undefined | null) => (iso ? iso.slice(0, 19).replace('T', ' ') : '');
const seconds = (ms: number | undefined) => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`);
const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;
const runLink = (workflowId: string) => consoleUrl('/run', { id: workflowId });

function outcome(e: ExecutionRecord): string {
  if (e.workerLost) return 'worker lost';
  if (e.launchFailure) return `launch failed: ${e.launchFailure}`;
  if (e.kind === 'answer') return `answered${e.by ? ` by ${e.by}` : ''}`;
  if (e.kind === 'command') return `exit ${e.exitCode ?? '?'}`;
  if (e.accepted === false) return `not accepted${e.reason ? `: ${e.reason}` : ''}`;
  return e.accepted ? 'accepted' : '';
}

const executionKey = (e: { step: string; item?: string | null; role?: string; attempt?: number }) =>
  [e.step, e.item ?? '', e.role ?? '', e.attempt ?? 1].join('\0');

/**
 * Which ended execution's actions (from its result in history) go with which agent line of executions.jsonl:
 * by step, item, role and attempt, launch by launch in order (a lost launch never reported: no result).
 * Those no line takes (the run folder is not on this machine) are returned apart.
 */
function matchActions(executions: ExecutionRecord[], ended: LiveExecution[]) {
  const waiting = new Map<string, LiveActivity[]>();
  for (const e of ended) {
    const key = executionKey(e.activity);
    waiting.set(key, [...(waiting.get(key) ?? []), e.activity]);
  }
  const byRow = executions.map((e) =>
    e.kind === 'agent' && !e.workerLost ? waiting.get(executionKey(e))?.shift() : undefined,
  );
  return { byRow, unmatched: [...waiting.values()].flat() };
}

/**
 * Steps and attempts (executions.jsonl), what runs now, and the routes taken; each ended agent execution with
 * its last actions (`ended`: from its result in history; a running one's are in the live section).
 */
export function timelineSection(
  executions: ExecutionRecord[],
  routes: RouteTaken[],
  active: ActiveRole[],
  ended: LiveExecution[] | { problem: string } = [],
): Html {
  const { byRow, unmatched } = matchActions(executions, 'problem' in ended ? [] : ended);
  const rows = executions.map(
    (
      e,
      i,
    ) => html`<tr><td>${when(e.startedAt)}</td><td>${e.step}${e.item ? html` <span class="item">[${e.item}]</span>` : ''}</td>
<td>${e.kind}${e.role ? ` · ${e.role}` : ''}${e.attempt ? ` · attempt ${e.attempt}` : ''}${e.launch && e.launch > 1 ? ` · launch ${e.launch}` : ''}${e.provider ? ` · ${e.provider}` : ''}</td>
<td>${seconds(e.durationMs)}</td><td>${outcome(e)}</td><td>${e.route ? html`<span class="route">${e.route}</span>` : ''}</td>
<td>${e.denials?.length ? `${e.denials.length} denied` : ''}</td></tr>
${byRow[i] ? html`<tr class="actions-row"><td></td><td colspan="6">${endedActions(byRow[i], `line-${i}`)}</td></tr>` : ''}`,
  );
  return html`<section id="timeline"><h2>Steps and attempts</h2>
${active.length ? html`<p class="now" data-testid="active">running now: ${active.map((a) => `${executionLabel(a)}${a.waitingForQuota ? ` — ${a.waitingForQuota}` : ''}`).join('; ')}</p>` : ''}
${rows.length ? html`<table><thead><tr><th>Started</th><th>Step</th><th>Execution</th><th>Took</th><th>Outcome</th><th>Route</th><th>Denials</th></tr></thead><tbody>${rows}</tbody></table>` : html`<p class="muted">no execution recorded in the run folder${executions.length === 0 ? ' (it is not on this machine, or nothing has ended yet)' : ''}</p>`}
${'problem' in ended ? html`<p class="muted">the actions of ended executions cannot be read from history: ${ended.problem}</p>` : ''}
${unmatched.length ? html`<h3>Ended agent executions (from history)</h3><ul class="ended">${unmatched.map((a, j) => html`<li>${executionLabel(a)}${a.harness ? ` · ${a.harness}` : ''} ${endedActions(a, `history-${j}`)}</li>`)}</ul>` : ''}
${routes.length ? html`<h3>Routes taken</h3><ol class="routes" data-testid="routes">${routes.map((r) => html`<li>${r.step}${r.item ? ` [${r.item}]` : ''}: <span class="route">${r.route}</span> → ${r.target}</li>`)}</ol>` : ''}
</section>`;
}

export function answersSection(answers: AnswerRecord[] | undefined): Html {
  if (!answers?.length) return html``;
  return html`<section id="answers"><h2>Answers</h2><table><thead><tr><th>Step</th><th>Kind</th><th>Answer</th><th>Route</th><th>By</th><th>At</th></tr></thead><tbody>
${answers.map((a) => html`<tr><td>${a.step}${a.item ? ` [${a.item}]` : ''}</td><td>${a.kind}</td><td><code>${JSON.stringify(a.value)}</code></td><td>${a.route ?? ''}${a.target ? ` → ${a.target}` : ''}</td><td>${a.by ?? ''}</td><td>${when(a.at)}</td></tr>`)}
</tbody></table></section>`;
}

export function denialsSection(count: number | undefined, denials: DeniedCall[] | undefined): Html {
  if (count === undefined) return html``;
  const listed = denials ?? [];
  return html`<section id="denials"><h2>Denied tool calls (${count})</h2>
${listed.length ? html`<ul>${listed.map((d) => html`<li>${[d.step, d.item, d.role].filter(Boolean).join(' · ')}: ${describeDenial(d)}</li>`)}</ul>` : html`<p class="muted">none</p>`}
${count > listed.length ? html`<p class="muted">… ${count - listed.length} more in executions.jsonl</p>` : ''}</section>`;
}

export function usageSection(usage?: RunUsage, children?: RunUsage, total?: RunUsage): Html {
  if (!usage) return html``;
  const row = (label: string, u: RunUsage) =>
    html`<tr><th>${label}</th><td>${u.agentRuns}</td><td>${u.inputTokens}</td><td>${u.outputTokens}</td><td>${usd(u.costUsd)}</td></tr>`;
  return html`<section id="usage"><h2>Usage and cost</h2><table><thead><tr><th></th><th>Agent runs</th><th>Tokens in</th><th>Tokens out</th><th>Cost</th></tr></thead><tbody>
${row('this run', usage)}${children ? row('child runs', children) : ''}${total ? row('in all', total) : ''}</tbody></table></section>`;
}

type Related = { workflowId: string; status?: string; event?: string | null; step?: string; item?: string };

export function lineageSection(parent: Related | undefined, children: Related[] | undefined): Html {
  if (!parent && !children?.length) return html``;
  const cause = (r: Related) =>
    r.step ? `step ${r.step}${r.item ? ` [${r.item}]` : ''}` : r.event ? `event ${r.event}` : '';
  return html`<section id="lineage"><h2>Parent and children</h2>
${parent ? html`<p>parent: <a href="${runLink(parent.workflowId)}">${parent.workflowId}</a> ${cause(parent)}</p>` : ''}
${children?.length ? html`<ul>${children.map((c) => html`<li><a href="${runLink(c.workflowId)}">${c.workflowId}</a> ${cause(c)} <span class="${statusClass(c.status ?? '')}">${c.status}</span></li>`)}</ul>` : ''}
</section>`;
}
