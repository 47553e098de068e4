// Which steps a restarted run executes again. Pure functions over the plan (workflow-safe).
import type { ExecutionPlan, RouteTarget } from '../shapes/execution-plan';

/** `step` and every step that can follow it: by a route (any target, rework included) or by `after:`. */
export function downstreamOf(plan: ExecutionPlan, step: string): string[] {
  const seen = new Set<string>([step]);
  const queue = [step];
  const targetsOf = (t: RouteTarget): string[] =>
    t.kind === 'step'
      ? [t.step]
      : t.kind === 'advance'
        ? targetsOf(t.exhausted)
        : t.kind === 'request_input' && t.request.onTimeout
          ? targetsOf(t.request.onTimeout)
          : [];
  while (queue.length > 0) {
    const name = queue.shift();
    const current = plan.steps.find((s) => s.name === name);
    if (!current) continue;
    const next = [
      ...current.routes.flatMap((r) => targetsOf(r.target)),
      ...targetsOf(current.onFailure),
      ...targetsOf(current.onReworkExhausted),
      ...plan.steps.filter((s) => s.after.includes(current.name)).map((s) => s.name),
    ];
    for (const n of next) {
      if (!seen.has(n)) {
        seen.add(n);
        queue.push(n);
      }
    }
  }
  return plan.steps.map((s) => s.name).filter((n) => seen.has(n));
}
