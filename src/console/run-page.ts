// A run's page: header (status, origin, links), the decisions waiting for a person, live activity while it
// runs, steps and attempts with routes, each accepted step's changes, artifacts, answers, denials, usage,
// parent and children, and the evidence check on demand.

import type { ExecutionRecord } from '../activities/run-summary';
import { describeOrigin, type RunOrigin } from '../client/run-origin';
import type { ForgeRunState } from '../shapes/deliveries';
import { type ExecutionLabel, executionLabel } from '../shapes/execution-label';
import type { LiveExecution } from '../shapes/live-activity';
import type { ActiveRole, PendingInput } from '../shapes/messages';
import type { AnswerRecord, DeniedCall, RouteTaken, RunUsage } from '../shapes/run';
import { type Identity, may } from './access';
import { consoleUrl, type Html, html, raw, statusClass } from './html';
import { liveInner } from './live';
import { prettyJson, renderMarkdown } from './markdown';
import { type Artifact, type ExecutionChange, readArtifact } from './run-folder';
import {
  answersSection,
  denialsSection,
  lineageSection,
  timelineSection,
  usageSection,
} from './run-sections';
import { answerInputs, isApproval } from './schema-form';

export interface RunPageData {
  workflowId: string;
  view: Record<string, unknown>;
  executions: ExecutionRecord[];
  changes: ExecutionChange[];
  artifacts: Artifact[];
  live: LiveExecution[] | { problem: string };
  /** the agent executions that ended, with the actions their results in history carry */
  ended: LiveExecution[] | { problem: string };
}

/**
 * What the page's script compares (every 2 s) to reload itself: the run's status, its pending requests and
 * what runs now, so the page shows an execution that ended (its actions, its route) without a reload by hand.
 */
export function runPageState(
  status: string,
  pending: Array<{ requestId: string }> | undefined,
  active: ExecutionLabel[] | undefined,
): string {
  const requests = (pending ?? []).map((p) => p.requestId).join(',');
  const running = (active ?? []).map((a) => executionLabel(a)).join(';');
  return [status, requests, running].join('|');
}

const LIVE_STATUSES = new Set(['running', 'waiting_input']);
/** A link the forge gave, kept only when it is http(s). */
const safeHref = (url: string) => (/^https?:\/\//i.test(url) ? url : '#');
const RESUMABLE = new Set(['failed', 'cancelled', 'canceled', 'terminated', 'timed_out']);

function pendingForm(id: string, p: PendingInput, csrf: string, who: Identity): Html {
  const tool = p.kind === 'tool_approval' ? p.tool : undefined;
  return html`<form method="post" action="${consoleUrl('/run/answer', { id })}" class="decision" data-testid="decision-${p.kind ?? 'input'}">
<input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="requestId" value="${p.requestId}">
<h3>${tool ? html`Tool call waiting for approval: <code data-testid="tool-name">${tool.name}</code>` : p.question}</h3>
<p class="muted">step ${p.step}${p.item ? ` [${p.item}]` : ''}${tool?.role ? ` · ${tool.role}` : ''}${tool?.attempt ? ` · attempt ${tool.attempt}` : ''} · request ${p.requestId}${p.routes?.length && !isApproval(p) ? ` · routes ${p.routes.join(', ')}` : ''}</p>
${tool ? html`<pre class="tool-input" data-testid="tool-input">${JSON.stringify(tool.input, null, 2)}</pre>` : ''}
${p.agentQuestion ? html`<p data-testid="agent-question">The agent asks: <strong>${p.agentQuestion.question}</strong><br><small>why: ${p.agentQuestion.reason}</small></p>` : ''}
${answerInputs(p)}
${may(who.role, 'answer') ? '' : html`<p class="warn">Your role (${who.role}) cannot answer: approvers and operators can.</p>`}
</form>`;
}

function controlForms(id: string, status: string, csrf: string): Html {
  const form = (action: string, label: string) =>
    html`<form method="post" action="${consoleUrl(`/run/${action}`, { id })}" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><button data-testid="${action}">${label}</button></form>`;
  if (LIVE_STATUSES.has(status)) return form('cancel', 'Cancel run…');
  if (RESUMABLE.has(status)) return form('resume', 'Resume run…');
  return html``;
}

function header(d: RunPageData): Html {
  const v = d.view;
  const origin = v.startedBy ? describeOrigin(v.startedBy as RunOrigin) : undefined;
  const pr = (v.forge as ForgeRunState | undefined)?.pullRequest;
  return html`<h1>${String(v.sop)} / ${String(v.task)} <span class="${statusClass(String(v.status))}" data-testid="status">${String(v.status)}</span></h1>
<dl class="facts"><dt>workflow</dt><dd>${d.workflowId}</dd><dt>started</dt><dd>${String(v.started)}${v.closed ? html`, closed ${String(v.closed)}` : ''}</dd>
${origin ? html`<dt>started by</dt><dd>${origin}</dd>` : ''}
${v.branch ? html`<dt>branch</dt><dd>${String(v.branch)} on ${String(v.remote)}${v.commit ? ` at ${String(v.commit).slice(0, 12)}` : ''}</dd>` : ''}
${v.runFolder ? html`<dt>run folder</dt><dd>${String(v.runFolder)}</dd>` : ''}
${v.webUi ? html`<dt>Temporal</dt><dd><a href="${String(v.webUi)}" data-testid="web-ui">open in the Web UI</a></dd>` : ''}
${pr ? html`<dt>pull request</dt><dd><a href="${safeHref(pr.url)}" data-testid="pull-request">${pr.repo}#${pr.number}</a></dd>` : ''}
${v.failure ? html`<dt>failure</dt><dd class="failure">${String(v.failure)}</dd>` : ''}
${v.noWorker ? html`<dt>no worker</dt><dd class="warn">${String(v.noWorker)}</dd>` : ''}
${v.noAnswer ? html`<dt>no answer</dt><dd class="warn">${String(v.noAnswer)}</dd>` : ''}</dl>`;
}

function changesSection(changes: ExecutionChange[]): Html {
  if (changes.length === 0) return html``;
  return html`<section id="changes"><h2>Changes of accepted steps</h2>${changes.map(
    (
      c,
    ) => html`<details><summary>${c.execution.step}${c.execution.item ? ` [${c.execution.item}]` : ''} · ${c.execution.role ?? ''} · attempt ${c.execution.attempt ?? 1}: ${c.files.length} file(s)</summary>
<ul>${c.files.map((f) => html`<li><code>${f}</code></li>`)}</ul>
${c.diff !== undefined ? html`<p class="muted">diff of ${c.diffOf}</p><pre class="diff" data-testid="diff">${c.diff || '(no difference now)'}</pre>` : ''}</details>`,
  )}</section>`;
}

function artifactsSection(d: RunPageData): Html {
  if (d.artifacts.length === 0) return html``;
  const folder = String(d.view.runFolder ?? '');
  return html`<section id="artifacts"><h2>Artifacts</h2>${d.artifacts.map((a) => {
    const text = readArtifact(folder, a.name);
    const body =
      text === undefined
        ? html`<p class="muted">${a.size} bytes: too large to show here</p>`
        : a.kind === 'md'
          ? html`<div class="markdown">${raw(renderMarkdown(text))}</div>`
          : html`<pre>${a.kind === 'json' ? prettyJson(text) : text}</pre>`;
    return html`<details open><summary>${a.name}</summary>${body}</details>`;
  })}</section>`;
}

export function runPage(d: RunPageData, who: Identity, csrf: string): Html {
  const v = d.view;
  const status = String(v.status);
  const pendings = (v.pendingInputs ?? (v.pendingInput ? [v.pendingInput] : [])) as PendingInput[];
  const usage = v.usage as RunUsage | undefined;
  const live = LIVE_STATUSES.has(status);
  return html`${header(d)}
<section id="decisions"><h2>Decisions</h2>
${pendings.length ? pendings.map((p) => pendingForm(d.workflowId, p, csrf, who)) : html`<p class="muted">nothing waits for a person</p>`}
${v.waitingIn ? html`<p>A person is awaited in the child run <a href="${consoleUrl('/run', { id: (v.waitingIn as { workflowId: string }).workflowId })}">${(v.waitingIn as { workflowId: string }).workflowId}</a>.</p>` : ''}
<div class="controls">${controlForms(d.workflowId, status, csrf)}</div></section>
${live ? html`<section id="live"><h2>Live activity</h2><div data-refresh="${consoleUrl('/run/live', { id: d.workflowId })}" data-testid="live">${liveInner(d.live)}</div></section>` : ''}
${timelineSection(d.executions, (v.routesTaken as RouteTaken[] | undefined) ?? [], (live ? (v.active as ActiveRole[] | undefined) : undefined) ?? [], d.ended)}
${changesSection(d.changes)}
${artifactsSection(d)}
${answersSection(v.answers as AnswerRecord[] | undefined)}
${denialsSection(v.deniedCalls as number | undefined, v.denials as DeniedCall[] | undefined)}
${usageSection(usage, v.childUsage as RunUsage | undefined, v.totalUsage as RunUsage | undefined)}
${lineageSection(v.parent as never, v.children as never)}
<section id="evidence"><h2>Evidence</h2><p><a href="${consoleUrl('/run/evidence', { id: d.workflowId })}" data-testid="verify">Verify the run folder against Temporal history</a></p></section>
${live ? html`<span data-reload-when-done="${consoleUrl('/run/status', { id: d.workflowId })}" data-status="${runPageState(status, pendings, v.active as ActiveRole[] | undefined)}"></span>` : ''}`;
}
