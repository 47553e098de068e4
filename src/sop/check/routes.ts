// Routes and their targets: the outcomes each kind of step may route on, every target (steps, finish, fail,
// complete_and_advance, request_input), and the answers of input steps. Builds the route graph (ctx.edges).

import { suggest } from '../../shapes/diagnostics';
import {
  APPROVAL_ROUTES,
  answerFieldValues,
  answerRouting,
  effectiveRoutes,
  forEachOf,
  type NormalTarget,
  SOP_STEP_ROUTES,
  stepKind,
} from '../normalize';
import type { SopFields, SopStep } from '../schema';
import { QUESTION_ROOTS } from '../templates';
import type { KeyPath } from '../yaml-source';
import { addEdge, type CheckContext, checkTemplateText, useArtifact } from './context';

export function checkRoutes(ctx: CheckContext): void {
  for (const [name, step] of Object.entries(ctx.steps)) {
    const at = ['steps', name];
    const inWorklist = forEachOf(step) !== undefined;
    checkRouteNames(ctx, name, step, inWorklist);
    checkRouteTargets(ctx, name, step, inWorklist);
    for (const key of ['on_failure', 'on_rework_exhausted', 'on_timeout'] as const) {
      if (step[key] !== undefined) checkTargetValue(ctx, name, step[key], [...at, key], inWorklist);
    }
    for (const dep of step.after ?? []) if (dep in ctx.steps && dep !== name) addEdge(ctx, dep, name);
  }
}

/** The route names a step declares, against the outcomes its kind produces. */
function checkRouteNames(ctx: CheckContext, name: string, step: SopStep, inWorklist: boolean): void {
  const { report } = ctx;
  const at = ['steps', name];
  const kind = stepKind(step);
  const declared = Object.keys(step.routes ?? {});
  if ((kind === 'agent' || kind === 'produce_verify') && declared.length === 0) {
    report('SOP210', `a ${kind} step needs routes: the outcomes the agent may choose`, at, true);
  }
  if (kind === 'command') {
    for (const route of declared) {
      if (route !== 'passed' && route !== 'failed')
        report(
          'SOP216',
          `command steps route on passed / failed, not "${route}"`,
          [...at, 'routes', route],
          true,
        );
    }
  }
  if (kind === 'sop' && step.route_on === undefined) {
    for (const route of declared) {
      if (!(SOP_STEP_ROUTES as readonly string[]).includes(route))
        report(
          'SOP216',
          `sop steps route on completed / failed (or on a step of the called SOP with route_on), not "${route}"`,
          [...at, 'routes', route],
          true,
        );
    }
  }
  if (kind === 'input' && step.review !== undefined) checkReviewGate(ctx, step, declared, at);
  if (kind === 'input') {
    checkAnswerRoutes(ctx, step.route_on, step.answer, declared, at, 'input step');
    if (step.question) checkQuestion(ctx, { question: step.question }, name, inWorklist, [...at, 'question']);
  }
}

/** Each route has exactly one target, which is checked; the artifacts it requires are declared. */
function checkRouteTargets(ctx: CheckContext, name: string, step: SopStep, inWorklist: boolean): void {
  for (const route of effectiveRoutes(step)) {
    const routeAt = ['steps', name, 'routes', route.name];
    if (!route.target) {
      const found = route.targetKeys.length === 0 ? 'none' : route.targetKeys.join(' and ');
      ctx.report('SOP212', `route ${route.name} needs exactly one target (found ${found})`, routeAt, true);
      continue;
    }
    const raw = step.routes?.[route.name];
    const targetAt =
      typeof raw === 'string' || raw === undefined ? routeAt : [...routeAt, route.targetKeys[0]];
    checkTarget(ctx, name, route.target, targetAt, inWorklist);
    if (typeof raw === 'object' && raw.exhausted !== undefined && !raw.complete_and_advance) {
      ctx.report(
        'SOP210',
        'exhausted only applies to complete_and_advance routes',
        [...routeAt, 'exhausted'],
        true,
      );
    }
    route.requires.forEach((artifact, i) => {
      useArtifact(ctx, artifact, name, [...routeAt, 'requires', i]);
    });
  }
}

function checkTarget(
  ctx: CheckContext,
  from: string,
  target: NormalTarget,
  at: KeyPath,
  inWorklist: boolean,
): void {
  switch (target.kind) {
    case 'step':
      if (!(target.step in ctx.steps)) {
        ctx.report(
          'SOP202',
          `route target "${target.step}" is not a step of this SOP`,
          at,
          false,
          suggest(target.step, [...ctx.stepNames, 'finish', 'fail']),
        );
      } else addEdge(ctx, from, target.step);
      return;
    case 'advance':
      if (!inWorklist)
        ctx.report('SOP211', `${from} has no for_each, so it cannot complete_and_advance`, at, true);
      checkTarget(ctx, from, target.exhausted, [...at.slice(0, -1), 'exhausted'], false);
      return;
    case 'request_input': {
      const requestAt = at[at.length - 1] === 'request_input' ? at : [...at, 'request_input'];
      checkQuestion(ctx, target.spec, from, inWorklist, [...requestAt, 'question']);
      if (target.spec.on_timeout)
        checkTargetValue(ctx, from, target.spec.on_timeout, [...requestAt, 'on_timeout'], inWorklist);
      const routes = target.spec.routes ?? {};
      if (target.spec.routes || target.spec.route_on) {
        checkAnswerRoutes(
          ctx,
          target.spec.route_on,
          target.spec.answer,
          Object.keys(routes),
          requestAt,
          'request_input',
        );
      }
      for (const [name, value] of Object.entries(routes))
        checkTargetValue(ctx, from, value, [...requestAt, 'routes', name], inWorklist);
      return;
    }
    default:
      return;
  }
}

function checkTargetValue(
  ctx: CheckContext,
  from: string,
  value: unknown,
  at: KeyPath,
  inWorklist: boolean,
): void {
  // `exhausted`/`on_failure` etc. are Target values; reuse the route normalisation
  const route = effectiveTarget(value);
  if (route) checkTarget(ctx, from, route, at, inWorklist);
}

/** A review gate: its answer is the pull request's review, an approval routing approved / rejected. */
function checkReviewGate(ctx: CheckContext, step: SopStep, declared: string[], at: KeyPath): void {
  for (const field of ['answer', 'route_on'] as const) {
    if (step[field] !== undefined)
      ctx.report(
        'SOP218',
        `a review gate's answer is the pull request's review (approve, guidance): remove ${field}:`,
        [...at, field],
        true,
      );
  }
  if (answerRouting(undefined, declared).kind !== 'approval')
    ctx.report(
      'SOP216',
      'a review gate routes on approved (the review approved) and rejected (changes requested, or /sop rework)',
      [...at, 'routes'],
      true,
    );
}

/** An input step's (or request_input's) routes against the values its answer can take. */
function checkAnswerRoutes(
  ctx: CheckContext,
  routeOn: string | undefined,
  answer: SopFields | undefined,
  names: string[],
  at: KeyPath,
  what: 'input step' | 'request_input',
): void {
  const routing = answerRouting(routeOn, names);
  const values = answerValues(ctx, routing, answer, at);
  if (!values) return;
  const expected =
    routing.kind === 'answered'
      ? `${what === 'input step' ? 'input steps' : 'request_input'} route on answered, approved / rejected, or the values of route_on`
      : routing.kind === 'approval'
        ? 'an approval routes on approved / rejected'
        : `route_on ${routing.field} routes on ${values.join(' / ')}`;
  for (const name of names) {
    if (!values.includes(name))
      ctx.report(
        'SOP216',
        `${expected}, not "${name}"`,
        [...at, 'routes', name],
        true,
        routing.kind === 'field' ? suggest(name, values) : undefined,
      );
  }
  if (routing.kind === 'answered') return;
  for (const value of values) {
    if (!names.includes(value)) {
      ctx.report(
        'SOP217',
        `the answer can be "${value}", which has no route`,
        routing.kind === 'field' ? [...at, 'route_on'] : [...at, 'routes'],
        routing.kind !== 'field' && names.length > 0,
      );
    }
  }
}

/** The values an answer can route on (answered, approved / rejected, or a field's enum); undefined if none. */
function answerValues(
  ctx: CheckContext,
  routing: ReturnType<typeof answerRouting>,
  answer: SopFields | undefined,
  at: KeyPath,
): string[] | undefined {
  if (routing.kind === 'answered') return ['answered'];
  if (routing.kind === 'approval') {
    const approve = answer?.approve;
    const type = typeof approve === 'string' ? approve : approve?.type;
    if (answer && type !== 'boolean') {
      ctx.report(
        'SOP218',
        `routes approved / rejected make this an approval, whose answer needs a field approve: boolean`,
        [...at, 'answer'],
        true,
      );
    }
    return [...APPROVAL_ROUTES];
  }
  const values = answerFieldValues(answer, routing.field);
  if (!answer || !(routing.field in answer)) {
    ctx.report(
      'SOP218',
      `route_on names "${routing.field}", which is not a field of answer:`,
      [...at, 'route_on'],
      false,
      answer ? suggest(routing.field, Object.keys(answer)) : 'declare the field under answer: with an enum',
    );
  } else if (!values) {
    ctx.report(
      'SOP218',
      `answer field ${routing.field} has no enum of strings to route on`,
      [...at, 'answer', routing.field],
      true,
    );
  }
  return values;
}

function checkQuestion(
  ctx: CheckContext,
  spec: { question: string },
  step: string,
  inWorklist: boolean,
  at: KeyPath,
): void {
  checkTemplateText(
    ctx,
    spec.question,
    { input: ctx.inputs, params: ctx.params, step, item: inWorklist, roots: QUESTION_ROOTS },
    { yaml: at },
  );
}

/** A Target value (string or object) as a normal target, or undefined when malformed (zod reports it). */
export function effectiveTarget(value: unknown): NormalTarget | undefined {
  if (typeof value === 'string') {
    return value === 'finish'
      ? { kind: 'finish' }
      : value === 'fail'
        ? { kind: 'fail' }
        : { kind: 'step', step: value };
  }
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.to === 'string') return effectiveTarget(v.to);
    if (v.finish) return { kind: 'finish' };
    if (v.fail) return { kind: 'fail' };
    if (v.request_input) return { kind: 'request_input', spec: v.request_input as never };
  }
  return undefined;
}
