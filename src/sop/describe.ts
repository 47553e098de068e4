// Human views of a compiled SOP: the step list with kinds, roles and policies, and a text graph of the
// route table (`sop workflows show`).

import type { ExecutionPlan, RouteTarget, StepSpec } from '../shapes/execution-plan';

function describeTarget(target: RouteTarget): string {
  switch (target.kind) {
    case 'step':
      return target.step;
    case 'finish':
      return '✔ finish';
    case 'fail':
      return `✘ fail${target.reason ? ` (${target.reason})` : ''}`;
    case 'advance':
      return `next item; when none is left → ${describeTarget(target.exhausted)}`;
    case 'request_input': {
      const routes = target.request.routes?.map((r) => `${r.name} → ${describeTarget(r.target)}`);
      const agent = target.request.agentAsks ? " or the agent's own question" : '';
      return `? ask a person: "${target.request.question}"${agent}${routes?.length ? ` (${routes.join('; ')})` : ''}`;
    }
  }
}

function describeStep(step: StepSpec): string[] {
  const lines: string[] = [];
  const traits: string[] = [step.kind];
  if (step.call)
    traits.push(
      `calls ${step.call.sop}${step.call.routeOn ? `, routes on the route its step ${step.call.routeOn} took` : ''}`,
    );
  if (step.forEach)
    traits.push(`for each item of ${step.forEach.worklist} (concurrency ${step.forEach.concurrency})`);
  if (step.after.length > 0) traits.push(`after ${step.after.join(', ')}`);
  lines.push(`${step.name}  [${traits.join(' · ')}]${step.title ? `  ${step.title}` : ''}`);
  const roles = [
    ['agent', step.agent],
    ['producer', step.producer],
    ['verifier', step.verifier],
  ] as const;
  for (const [name, role] of roles) {
    if (!role) continue;
    const policy = role.policy;
    const policyText = [
      policy.sandbox,
      policy.permission_mode,
      `network ${typeof policy.network === 'object' ? `allow ${policy.network.allow.join(',')}` : policy.network}`,
    ]
      .filter(Boolean)
      .join(', ');
    const writes = role.writes.length > 0 ? ` writes ${role.writes.join(', ')};` : '';
    const tools = role.tools?.length
      ? `; tools ${role.tools.map((g) => `${g.server} [${g.allow.join(', ') || 'none'}]`).join(', ')}`
      : '';
    const harness = [role.provider, role.model, role.effort && `effort ${role.effort}`].filter(Boolean);
    const profile = role.profile ? `agent ${role.profile}: ` : '';
    const session = role.session ? `; session ${role.session}` : '';
    const skills = role.skills?.length ? `; skills ${role.skills.map((s) => s.name).join(', ')}` : '';
    lines.push(
      `│  ${name}: ${role.promptFile} (${profile}${harness.join(' ')});${writes} policy ${policyText}${tools}${skills}${session}`,
    );
  }
  if (step.command) lines.push(`│  command: ${step.command.run}`);
  if (step.input) lines.push(`│  asks: "${step.input.question}"`);
  step.routes.forEach((route, i) => {
    const last = i === step.routes.length - 1 && step.kind !== 'produce_verify';
    const requires = route.requires.length > 0 ? `  (requires ${route.requires.join(', ')})` : '';
    lines.push(`${last ? '└' : '├'}─ ${route.name} → ${describeTarget(route.target)}${requires}`);
  });
  if (step.kind === 'produce_verify') {
    lines.push(
      `└─ after ${step.maxRework} rework${step.maxRework === 1 ? '' : 's'} → ${describeTarget(step.onReworkExhausted)}`,
    );
  }
  return lines;
}

/** The whole route table as text: one block per step, in declaration order. */
export function renderRouteGraph(plan: ExecutionPlan): string {
  return plan.steps.map((step) => describeStep(step).join('\n')).join('\n\n');
}
