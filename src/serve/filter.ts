// A webhook's `filter:` (event type, action, branch, labels) applied to a verified, parsed delivery.
import type { WebhookSpec } from '../shapes/triggers';

export type HookFilter = WebhookSpec['filter'];

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

/** The label names a GitHub payload carries: the label just added, and the issue's or pull request's. */
function payloadLabels(payload: Record<string, unknown>): string[] {
  const names = new Set<string>();
  const label = record(payload.label).name;
  if (typeof label === 'string') names.add(label);
  for (const owner of [payload.issue, payload.pull_request]) {
    const labels = record(owner).labels;
    if (!Array.isArray(labels)) continue;
    for (const l of labels as unknown[]) {
      const name = typeof l === 'string' ? l : record(l).name;
      if (typeof name === 'string') names.add(name);
    }
  }
  return [...names];
}

/** Why the delivery does not pass the filter, or undefined when it does (no filter: every delivery). */
export function filterMiss(
  filter: HookFilter | undefined,
  event: string | undefined,
  payload: Record<string, unknown>,
): string | undefined {
  if (!filter) return undefined;
  const events = filter.event;
  if (events && !(event && events.includes(event)))
    return `event ${event ?? '(none)'} is not ${events.join(' or ')}`;
  const actions = filter.action;
  const action = typeof payload.action === 'string' ? payload.action : undefined;
  if (actions && !(action && actions.includes(action)))
    return `action ${action ?? '(none)'} is not ${actions.join(' or ')}`;
  const branches = filter.branch;
  const ref = typeof payload.ref === 'string' ? payload.ref.replace(/^refs\/heads\//, '') : undefined;
  if (branches && !(ref && branches.includes(ref)))
    return `branch ${ref ?? '(none)'} is not ${branches.join(' or ')}`;
  if (filter.labels && filter.labels.length > 0) {
    const labels = payloadLabels(payload);
    if (!filter.labels.some((l) => labels.includes(l)))
      return `labels [${labels.join(', ')}] include none of ${filter.labels.join(', ')}`;
  }
  return undefined;
}
