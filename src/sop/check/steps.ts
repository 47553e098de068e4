// Each step on its own: its name, the fields of its kind, counts and for_each, policies and tools of each
// role, sessions, and the steps it waits for (after:).

import { suggest } from '../../shapes/diagnostics';
import type { Policy } from '../../shapes/policy';
import { forEachOf, roleOf, stepKind, stepRoles } from '../normalize';
import type { SopStep } from '../schema';
import type { KeyPath } from '../yaml-source';
import { type CheckContext, checkParamRef, useArtifact } from './context';
import { checkPolicyRef, checkServers, checkToolAsks, resolveQuiet } from './policies';
import { checkProfile } from './profiles';

const RESERVED = new Set(['finish', 'fail']);
const KIND_FIELDS: Record<string, ReadonlyArray<keyof SopStep>> = {
  agent: ['prompt', 'writes', 'session'],
  produce_verify: ['producer', 'verifier', 'max_rework', 'on_rework_exhausted'],
  command: ['run', 'env'],
  input: ['question', 'answer', 'route_on', 'on_timeout', 'review'],
  sop: ['sop', 'input', 'route_on'],
};
const AGENT_ONLY: ReadonlyArray<keyof SopStep> = [
  'agent',
  'policy',
  'tools',
  'skills',
  'provider',
  'model',
  'effort',
  'max_attempts',
  'max_launch_failures',
];

/** Every step's own declaration; `defaultPolicy` is the defaults' policy, resolved. */
export function checkStepDeclarations(ctx: CheckContext, defaultPolicy: Policy | undefined): void {
  for (const [name, step] of Object.entries(ctx.steps)) {
    const at = ['steps', name];
    if (RESERVED.has(name))
      ctx.report('SOP213', `"${name}" is a route target and cannot name a step`, at, true);
    checkKindFields(ctx, step, at);
    checkCountsAndForEach(ctx, step, at);
    checkAgentAsks(ctx, step, at);
    checkProfile(ctx, step.agent, at);
    for (const role of ['producer', 'verifier'] as const) checkProfile(ctx, step[role]?.agent, [...at, role]);
    checkServers(ctx, step.tools, at);
    if (step.policy !== undefined) checkPolicyRef(ctx, step.policy, [...at, 'policy']);
    checkRoles(ctx, name, step, defaultPolicy);
    checkAfter(ctx, name, step);
  }
}

/** Fields of another kind of step, and the fields this kind needs. */
function checkKindFields(ctx: CheckContext, step: SopStep, at: KeyPath): void {
  const { report } = ctx;
  const kind = stepKind(step);
  for (const [otherKind, fields] of Object.entries(KIND_FIELDS)) {
    if (otherKind === kind) continue;
    for (const field of fields) {
      if (KIND_FIELDS[kind].includes(field)) continue;
      if (step[field] !== undefined) {
        report(
          'SOP210',
          `${field} does not belong to a ${kind} step (it is for ${otherKind} steps)`,
          [...at, field],
          true,
        );
      }
    }
  }
  if (kind === 'command' || kind === 'input' || kind === 'sop') {
    for (const field of AGENT_ONLY) {
      if (step[field] !== undefined)
        report('SOP210', `${field} does not belong to a ${kind} step`, [...at, field], true);
    }
  }
  const need = (field: keyof SopStep, what: string) => {
    if (step[field] === undefined) report('SOP210', `a ${kind} step needs ${what}`, at, true);
  };
  if (kind === 'agent') need('prompt', '`prompt:` (a Markdown file in the SOP folder)');
  if (kind === 'produce_verify') {
    need('producer', '`producer:`');
    need('verifier', '`verifier:`');
  }
  if (kind === 'command') need('run', '`run:` (the command line)');
  if (kind === 'input') need('question', '`question:`');
  if (kind === 'sop') need('sop', '`sop:` (the name of the SOP to run)');
}

/** Counts naming params, the worklist of for_each, and concurrency only with for_each. */
function checkCountsAndForEach(ctx: CheckContext, step: SopStep, at: KeyPath): void {
  for (const key of ['max_rework', 'max_attempts', 'max_launch_failures', 'concurrency'] as const)
    checkParamRef(ctx, step[key], [...at, key]);
  if (typeof step.for_each === 'object')
    checkParamRef(ctx, step.for_each.concurrency, [...at, 'for_each', 'concurrency']);

  const forEach = forEachOf(step);
  if (forEach && !(forEach.worklist in ctx.worklists)) {
    const where = typeof step.for_each === 'string' ? [...at, 'for_each'] : [...at, 'for_each', 'worklist'];
    ctx.report(
      'SOP206',
      `for_each names worklist "${forEach.worklist}", which is not declared`,
      where,
      false,
      suggest(forEach.worklist, Object.keys(ctx.worklists)),
    );
  }
  if (!forEach && step.concurrency !== undefined) {
    ctx.report('SOP210', 'concurrency only applies to steps with for_each', [...at, 'concurrency'], true);
  }
}

/** agent_asks only on a request_input a route of an agent step (not a for_each step) goes to. */
function checkAgentAsks(ctx: CheckContext, step: SopStep, at: KeyPath): void {
  const kind = stepKind(step);
  for (const where of agentAsksPaths(step))
    if (
      !(
        where.length === 3 &&
        where[0] === 'routes' &&
        (kind === 'agent' || kind === 'produce_verify') &&
        !forEachOf(step)
      )
    )
      ctx.report(
        'SOP210',
        'agent_asks belongs on a request_input that a route of an agent step (not a for_each step) goes to: only there does an agent choose to ask',
        [...at, ...where, 'agent_asks'],
        true,
      );
}

/** Each role (agent, or producer and verifier): policy, artifacts written, tools, ask rules, sessions. */
function checkRoles(ctx: CheckContext, name: string, step: SopStep, defaultPolicy: Policy | undefined): void {
  const { report } = ctx;
  const at = ['steps', name];
  const forEach = forEachOf(step);
  for (const { role, keyPath } of stepRoles(step)) {
    const spec = roleOf(step, role);
    const roleAt = [...at, ...keyPath];
    if (role !== 'agent') checkPolicyRef(ctx, step[role]?.policy, [...roleAt, 'policy']);
    (spec.writes ?? []).forEach((artifact, i) => {
      useArtifact(ctx, artifact, name, [...roleAt, 'writes', i]);
    });
    const ownTools = role !== 'agent' && step[role]?.tools !== undefined;
    if (ownTools) checkServers(ctx, step[role]?.tools, roleAt);
    checkToolAsks(ctx, spec.tools, [
      { ref: ctx.sop.defaults?.policy, at: ['defaults', 'policy'] },
      { ref: step.policy, at: [...at, 'policy'] },
      ...(role === 'agent' ? [] : [{ ref: step[role]?.policy, at: [...roleAt, 'policy'] }]),
    ]);
    if (spec.session === 'item' && !forEach) {
      report('SOP251', `${name} has no for_each, so it has no items to keep sessions for`, [
        ...roleAt,
        'session',
      ]);
    }
    if (role === 'verifier' && sharesProducerSession(step)) {
      report(
        'SOP250',
        `the verifier of ${name} would continue its producer's session (both session: ${spec.session})`,
        [...roleAt, 'session'],
      );
    }
    if (role === 'verifier') checkVerifierSandbox(ctx, name, step, defaultPolicy, roleAt);
  }
}

/** A verifier that may write beyond the run's own files (.sop/) is reported (SOP801). */
function checkVerifierSandbox(
  ctx: CheckContext,
  name: string,
  step: SopStep,
  defaultPolicy: Policy | undefined,
  roleAt: KeyPath,
): void {
  const effective = {
    ...(defaultPolicy ?? {}),
    ...(resolveQuiet(ctx, step.policy) ?? {}),
    ...(resolveQuiet(ctx, step.verifier?.policy) ?? {}),
  };
  const writesOnlyRunFiles =
    (effective.allow_write ?? []).length > 0 &&
    effective.allow_write!.every((p) => p === '.sop' || p.startsWith('.sop/'));
  if ((effective.sandbox ?? 'read-only') !== 'read-only' && !writesOnlyRunFiles) {
    ctx.report(
      'SOP801',
      `the verifier of ${name} runs with sandbox ${effective.sandbox}`,
      [...roleAt, 'policy'],
      true,
    );
  }
}

function checkAfter(ctx: CheckContext, name: string, step: SopStep): void {
  (step.after ?? []).forEach((dep, i) => {
    if (!(dep in ctx.steps))
      ctx.report(
        'SOP208',
        `after names step "${dep}", which does not exist`,
        ['steps', name, 'after', i],
        false,
        suggest(dep, ctx.stepNames),
      );
    else if (dep === name)
      ctx.report('SOP207', `step ${name} depends on itself`, ['steps', name, 'after', i]);
  });
}

/** Producer and verifier of a step name the same session slot (any value but fresh). */
function sharesProducerSession(step: SopStep): boolean {
  const producer = step.producer?.session;
  return producer !== undefined && producer !== 'fresh' && producer === step.verifier?.session;
}

/** Where a step's `request_input`s set `agent_asks` (key paths inside the step, to the request_input). */
function agentAsksPaths(value: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (!value || typeof value !== 'object') return [];
  const out: Array<Array<string | number>> = [];
  for (const [key, child] of Object.entries(value)) {
    if (key === 'request_input' && (child as { agent_asks?: unknown })?.agent_asks !== undefined)
      out.push([...at, key]);
    out.push(...agentAsksPaths(child, [...at, key]));
  }
  return out;
}
