// The shape of the route graph: after: cycles, steps that can never run, steps with no way to finish, and
// which steps can run before a given one (what its templates may read).

import { effectiveRoutes, type NormalTarget } from '../normalize';
import type { SopStep } from '../schema';
import type { CheckContext } from './context';
import { effectiveTarget } from './routes';

export function checkAfterCycles(ctx: CheckContext): void {
  const cycle = findAfterCycle(ctx.steps);
  if (cycle)
    ctx.report('SOP207', `after: dependencies form a cycle: ${cycle.join(' → ')}`, [
      'steps',
      cycle[0],
      'after',
    ]);
}

/**
 * SOP203 (a step no route or after: reaches) and SOP204 (a reachable step with no route towards finish).
 * `hasTargetErrors`: a misspelt target makes everything behind it unreachable, so neither is reported then.
 */
export function checkReachability(ctx: CheckContext, hasTargetErrors: boolean): void {
  const reachable = reachableSteps(ctx);
  for (const name of ctx.stepNames) {
    // a misspelt target makes everything behind it unreachable: report the cause, not the cascade
    if (!reachable.has(name) && !hasTargetErrors) {
      ctx.report(
        'SOP203',
        `step ${name} can never run: no route leads to it and it has no satisfiable after:`,
        ['steps', name],
        true,
      );
    }
  }
  const finishes = finishingSteps(ctx);
  if (hasTargetErrors) return;
  for (const name of ctx.stepNames) {
    if (reachable.has(name) && !finishes.has(name)) {
      ctx.report(
        'SOP204',
        `step ${name} has no route that leads to finish (every path ends in fail or loops)`,
        ['steps', name],
        true,
      );
    }
  }
}

/** From the first step, along routes, and to steps whose after: steps are all reachable. */
function reachableSteps(ctx: CheckContext): Set<string> {
  const { stepNames, steps, edges } = ctx;
  const reachable = new Set<string>([stepNames[0]]);
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of stepNames) {
      if (reachable.has(name)) {
        for (const next of edges.get(name) ?? []) {
          if (!reachable.has(next)) {
            reachable.add(next);
            changed = true;
          }
        }
      }
      const after = steps[name].after ?? [];
      if (!reachable.has(name) && after.length > 0 && after.every((d) => reachable.has(d))) {
        reachable.add(name);
        changed = true;
      }
    }
  }
  return reachable;
}

/** Steps with a route that leads, through other steps, to finish. */
function finishingSteps(ctx: CheckContext): Set<string> {
  const finishes = new Set<string>();
  const targetFinishes = (target: NormalTarget | undefined): boolean => {
    if (!target) return false;
    if (target.kind === 'finish') return true;
    if (target.kind === 'step') return finishes.has(target.step);
    if (target.kind === 'advance') return targetFinishes(target.exhausted);
    if (target.kind === 'request_input') {
      // without routes the answer goes back to the step that asked
      return Object.values(target.spec.routes ?? {}).some((t) => targetFinishes(effectiveTarget(t)));
    }
    return false;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of ctx.stepNames) {
      if (finishes.has(name)) continue;
      if (effectiveRoutes(ctx.steps[name]).some((r) => targetFinishes(r.target))) {
        finishes.add(name);
        changed = true;
      }
    }
  }
  return finishes;
}

/** The steps that can run before `name` (some path of routes leads from them to it). */
export function predecessors(ctx: CheckContext, name: string): Set<string> {
  const result = new Set<string>();
  for (const other of ctx.stepNames) {
    if (other !== name && leadsTo(ctx.edges, other, name)) result.add(other);
  }
  return result;
}

function leadsTo(edges: Map<string, Set<string>>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [...(edges.get(from) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (next === to) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(edges.get(next) ?? []));
  }
  return false;
}

function findAfterCycle(steps: Record<string, SopStep>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of steps[name]?.after ?? []) {
      if (dep === name || !(dep in steps)) continue;
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(steps)) {
    const cycle = visit(name);
    if (cycle) return cycle.reverse();
  }
  return undefined;
}
