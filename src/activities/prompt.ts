import type { AgentStepRequest } from '../shapes/contract';
import type { JsonSchema } from '../shapes/execution-plan';
import { renderText } from '../shapes/render-text';
import type { ResolvedArtifact } from './artifacts';

/** The structured outcome every agent returns: strict-mode friendly (Codex requires every key). */
export function outcomeSchema(routes: string[]): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['route', 'summary', 'details'],
    properties: {
      route: { type: 'string', enum: routes },
      summary: { type: 'string', description: 'one line: what you did or found' },
      details: {
        type: 'string',
        description: 'findings, reasons, or notes for the next step (may be empty)',
      },
    },
  };
}

/** The step's prompt followed by the generated step contract (what the runtime will check). */
export function renderPrompt(
  request: AgentStepRequest,
  scope: Record<string, unknown>,
  artifacts: ResolvedArtifact[],
  /** continued: the harness resumes a session that has the step's prompt already; only the rest is new */
  options: { continued?: boolean } = {},
): string {
  const writes = artifacts.filter((a) => request.spec.writes.includes(a.spec.name));
  const lines = [
    options.continued
      ? `You are continuing your earlier work on step ${request.step} of SOP ${request.run.sop} (rework ${request.context.step.rework}): the task is the one you were given above.`
      : renderText(request.spec.prompt, scope).trim(),
    '',
    '---',
    `## Step contract (SOP ${request.run.sop}, step ${request.step}, ${request.role}, attempt ${request.attempt})`,
  ];
  if (request.context.item)
    lines.push(`Work item: ${request.context.item.id} — ${request.context.item.title}`);
  if (request.worktree)
    lines.push(
      `You work in a git worktree of your own (branch \`${request.worktree.branch}\`), beside other work running at the same time; the runtime commits and merges it into the run's workspace once your work is accepted.`,
    );
  if (writes.length) {
    lines.push('', 'Files you must write (the runtime checks they exist, are valid, and were written now):');
    for (const a of writes)
      lines.push(`- \`${a.relative}\` (${a.spec.kind}${a.spec.schema ? ', must match its schema' : ''})`);
  }
  const policy = request.spec.policy;
  if (policy.allow_write?.length) lines.push('', `You may change only: ${policy.allow_write.join(', ')}`);
  if (policy.sandbox === 'read-only')
    lines.push('', 'This step is read-only: do not modify files outside the ones listed above.');
  if (request.role !== 'producer') {
    lines.push('', 'Finish with a structured outcome whose `route` is one of:');
    for (const route of request.routes) {
      const needs = route.requires.length ? ` (requires: ${route.requires.join(', ')})` : '';
      lines.push(`- \`${route.name}\`${needs}`);
    }
  } else {
    lines.push('', 'Finish with a structured outcome with route `done` once the files above are written.');
  }
  if (request.feedback.length) lines.push('', '## From the runtime', ...request.feedback);
  return `${lines.join('\n')}\n`;
}
