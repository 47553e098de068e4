import { askingRoutes, askOutcomeProperty } from '../shapes/agent-question';
import type { AgentStepRequest } from '../shapes/contract';
import type { AgentAllowance } from '../shapes/deliveries';
import type { InputRequestSpec, JsonSchema, RouteSpec } from '../shapes/execution-plan';
import { renderText } from '../shapes/render-text';
import type { ResolvedArtifact } from './artifacts';

/** The structured outcome every agent returns: strict-mode friendly (Codex requires every key). */
export function outcomeSchema(routes: string[], asking: string[] = [], deliver?: AgentAllowance): JsonSchema {
  const schema = {
    type: 'object',
    additionalProperties: false,
    required: ['route', 'summary', 'details', ...(asking.length > 0 ? ['ask'] : [])],
    properties: {
      route: { type: 'string', enum: routes },
      summary: { type: 'string', description: 'one line: what you did or found' },
      details: {
        type: 'string',
        description: 'findings, reasons, or notes for the next step (may be empty)',
      },
      // only steps with a route that lets the agent ask a person have it (other schemas are unchanged)
      ...(asking.length > 0 ? { ask: askOutcomeProperty(asking) } : {}),
    } as Record<string, unknown>,
  };
  if (!deliver) return schema;
  // strict mode: every key required; empty lists ask for nothing. The runtime checks each request.
  schema.required.push('deliver');
  schema.properties.deliver = {
    type: 'object',
    additionalProperties: false,
    required: ['comments', 'labels'],
    properties: {
      comments: { type: 'array', items: { type: 'string' }, description: 'comments to post (may be empty)' },
      labels: {
        type: 'array',
        items: { type: 'string' },
        description: `labels to add, from: ${deliver.labels?.allowed.join(', ') ?? 'none allowed'}`,
      },
    },
  };
  return schema;
}

/** The step contract's lines on what the role may ask the runtime to deliver. */
function deliverLines(deliver: AgentAllowance | undefined): string[] {
  if (!deliver) return [];
  const lines = [
    '',
    "You may ask the runtime to deliver, in your outcome's `deliver` (it checks every request):",
  ];
  if (deliver.comments) lines.push(`- \`comments\`: up to ${deliver.comments.max} comment(s) on the issue`);
  if (deliver.labels)
    lines.push(`- \`labels\`: up to ${deliver.labels.max} of: ${deliver.labels.allowed.join(', ')}`);
  return lines;
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
    lines.push(...askingContract(request.routes));
  } else {
    lines.push('', 'Finish with a structured outcome with route `done` once the files above are written.');
  }
  if (request.role !== 'producer') lines.push(...deliverLines(request.deliver));
  if (request.feedback.length) lines.push('', '## From the runtime', ...request.feedback);
  return `${lines.join('\n')}\n`;
}

/** What the agent is told about the routes that let it ask a person (none: nothing). */
function askingContract(routes: RouteSpec[]): string[] {
  const asking = routes.filter((r) => askingRoutes([r]).length > 0);
  if (asking.length === 0) return [];
  const lines = ['', 'Routes that ask a person, where you may write the question yourself:'];
  for (const route of asking) {
    const request = (route.target as { request: InputRequestSpec }).request;
    const fields = Object.keys((request.schema.properties ?? {}) as object);
    lines.push(
      `- \`${route.name}\`: the SOP asks "${request.question}"; put your own question (at most ${request.agentAsks!.maxLength} characters) and why you ask in \`ask\`${request.agentAsks!.answerSchema && fields.length ? `; \`ask.answer_schema\` may narrow the answer's fields (${fields.join(', ')}) as the JSON text of a JSON Schema object` : ''}`,
    );
  }
  lines.push('With any other route, set `ask` to null.');
  return lines;
}
