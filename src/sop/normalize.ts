// Small pure helpers that read the authoring format the same way in the checks and in the plan mapping:
// a step's kind, its routes as one shape, targets, and field maps as JSON Schema.

import type { FieldSchema, SopFields, SopRoute, SopStep, Target } from './schema';

export type StepKind = 'agent' | 'produce_verify' | 'command' | 'input' | 'sop';

export function stepKind(step: SopStep): StepKind {
  if (step.kind) return step.kind;
  if (step.producer || step.verifier) return 'produce_verify';
  if (step.run !== undefined) return 'command';
  if (step.sop !== undefined) return 'sop';
  if (step.question !== undefined) return 'input';
  return 'agent';
}

export type NormalTarget =
  | { kind: 'step'; step: string }
  | { kind: 'finish' }
  | { kind: 'fail'; reason?: string }
  | { kind: 'advance'; exhausted: NormalTarget }
  | { kind: 'request_input'; spec: NonNullable<SopRoute & object>['request_input'] & object };

export function normalTarget(target: Target): NormalTarget {
  if (typeof target === 'string') return stepOrKeyword(target);
  if ('to' in target) return stepOrKeyword(target.to);
  if ('finish' in target) return { kind: 'finish' };
  if ('fail' in target) return { kind: 'fail', reason: target.fail === true ? undefined : target.fail };
  return { kind: 'request_input', spec: target.request_input };
}

function stepOrKeyword(name: string): NormalTarget {
  if (name === 'finish') return { kind: 'finish' };
  if (name === 'fail') return { kind: 'fail' };
  return { kind: 'step', step: name };
}

export interface NormalRoute {
  name: string;
  /** undefined when the route names no target or several (reported by the checks) */
  target?: NormalTarget;
  /** which keys named a target, for the "exactly one target" check */
  targetKeys: string[];
  requires: string[];
}

function normalRoute(name: string, route: SopRoute): NormalRoute {
  if (typeof route === 'string')
    return { name, target: normalTarget(route), targetKeys: ['to'], requires: [] };
  const targetKeys = (['to', 'finish', 'fail', 'request_input', 'complete_and_advance'] as const).filter(
    (key) => route[key] !== undefined,
  );
  let target: NormalTarget | undefined;
  if (targetKeys.length === 1) {
    if (route.complete_and_advance) {
      target = {
        kind: 'advance',
        exhausted: route.exhausted ? normalTarget(route.exhausted) : { kind: 'finish' },
      };
    } else if (route.to !== undefined) target = normalTarget(route.to);
    else if (route.finish) target = { kind: 'finish' };
    else if (route.fail !== undefined)
      target = { kind: 'fail', reason: route.fail === true ? undefined : route.fail };
    else if (route.request_input) target = { kind: 'request_input', spec: route.request_input };
  }
  return { name, target, targetKeys: [...targetKeys], requires: route.requires ?? [] };
}

function stepRoutes(step: SopStep): NormalRoute[] {
  return Object.entries(step.routes ?? {}).map(([name, route]) => normalRoute(name, route));
}

/** Command and sop steps fail the run on a failed command / child run unless they route `failed` somewhere. */
export function effectiveRoutes(step: SopStep): NormalRoute[] {
  const routes = stepRoutes(step);
  const kind = stepKind(step);
  if ((kind === 'command' || kind === 'sop') && !routes.some((r) => r.name === 'failed')) {
    routes.push({
      name: 'failed',
      target: {
        kind: 'fail',
        reason: kind === 'command' ? `the command of step failed` : `the SOP this step called failed`,
      },
      targetKeys: ['fail'],
      requires: [],
    });
  }
  return routes;
}

/** The routes of a sop step without `route_on`: the called run's final status. */
export const SOP_STEP_ROUTES = ['completed', 'failed'] as const;

/** How an input step or request_input picks its route from the answer. */
export type AnswerRouting = { kind: 'answered' } | { kind: 'approval' } | { kind: 'field'; field: string };

export const APPROVAL_ROUTES = ['approved', 'rejected'] as const;
/** `route_on: FIELD` routes on that field; routes named approved / rejected make an approval. */
export function answerRouting(routeOn: string | undefined, routeNames: string[]): AnswerRouting {
  if (routeOn) return { kind: 'field', field: routeOn };
  if (routeNames.some((n) => (APPROVAL_ROUTES as readonly string[]).includes(n))) return { kind: 'approval' };
  return { kind: 'answered' };
}

/** The string values of an answer field's enum, or undefined when it has none. */
export function answerFieldValues(answer: SopFields | undefined, field: string): string[] | undefined {
  const spec = answer?.[field];
  if (!spec || typeof spec === 'string' || !spec.enum) return undefined;
  return spec.enum.every((v) => typeof v === 'string') ? (spec.enum as string[]) : undefined;
}

export function forEachOf(step: SopStep): { worklist: string; concurrency?: number | string } | undefined {
  if (step.for_each === undefined) return undefined;
  if (typeof step.for_each === 'string') return { worklist: step.for_each, concurrency: step.concurrency };
  return { worklist: step.for_each.worklist, concurrency: step.for_each.concurrency ?? step.concurrency };
}

/** Roles of a step with the path of their keys, for locating problems. */
export function stepRoles(
  step: SopStep,
): Array<{ role: 'agent' | 'producer' | 'verifier'; keyPath: string[] }> {
  const kind = stepKind(step);
  if (kind === 'agent') return [{ role: 'agent', keyPath: [] }];
  if (kind === 'produce_verify') {
    return [
      ...(step.producer ? [{ role: 'producer' as const, keyPath: ['producer'] }] : []),
      ...(step.verifier ? [{ role: 'verifier' as const, keyPath: ['verifier'] }] : []),
    ];
  }
  return [];
}

export function roleOf(step: SopStep, role: 'agent' | 'producer' | 'verifier') {
  if (role === 'agent') {
    return {
      prompt: step.prompt,
      writes: step.writes,
      policy: step.policy,
      provider: step.provider,
      model: step.model,
      effort: step.effort,
      session: step.session,
      tools: step.tools,
      skills: step.skills,
    };
  }
  const r = step[role];
  return {
    ...r,
    policy: r?.policy ?? step.policy,
    provider: r?.provider ?? step.provider,
    model: r?.model ?? step.model,
    effort: r?.effort ?? step.effort,
    tools: r?.tools ?? step.tools,
    skills: r?.skills ?? step.skills,
  };
}

/** `{ request: string, max: { type: integer, default: 3 } }` → a JSON Schema object. */
export function fieldsToJsonSchema(fields: SopFields | undefined): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const [name, field] of Object.entries(fields ?? {})) {
    const schema: FieldSchema = typeof field === 'string' ? { type: field } : field;
    properties[name] = fieldToJsonSchema(schema);
    if (schema.required !== false && schema.default === undefined) required.push(name);
  }
  return { type: 'object', properties, required, additionalProperties: false };
}

function fieldToJsonSchema(field: FieldSchema): Record<string, unknown> {
  const { required, items, properties, ...rest } = field;
  const out: Record<string, unknown> = { ...rest };
  if (Array.isArray(required)) out.required = required;
  if (items) out.items = fieldToJsonSchema(items);
  if (properties) {
    out.properties = Object.fromEntries(
      Object.entries(properties).map(([k, v]) => [k, fieldToJsonSchema(v)]),
    );
  }
  return out;
}

export function fieldDefaults(fields: SopFields | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields ?? {})) {
    if (typeof field !== 'string' && field.default !== undefined) out[name] = field.default;
  }
  return out;
}

export { durationMs } from '../shapes/duration';
