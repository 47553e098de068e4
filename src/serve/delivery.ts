// The delivery id of a webhook (GitHub's X-GitHub-Delivery, or the hook's `dedupe:` header or payload
// field) becomes the run's task id, so a redelivery finds the run the first delivery started.
import { createHash } from 'node:crypto';
import { TASK_ID_PATTERN } from '../shapes/names';
import type { WebhookSpec } from '../shapes/triggers';

function valueAt(payload: unknown, dotted: string): unknown {
  let value = payload;
  for (const key of dotted.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The delivery id, or a problem naming where it was looked for. */
export function deliveryId(
  dedupe: WebhookSpec['dedupe'],
  headers: Record<string, string | string[] | undefined>,
  payload: unknown,
): { id: string } | { problem: string } {
  const { from: kind, name: where } = dedupe;
  const raw = kind === 'header' ? headers[where.toLowerCase()] : valueAt(payload, where);
  const value = Array.isArray(raw) ? raw[0] : raw;
  if ((typeof value === 'string' && value.length > 0) || typeof value === 'number')
    return { id: String(value) };
  return {
    problem: `no delivery id: ${kind === 'header' ? `header ${where}` : `payload field ${where}`} is missing (the hook's dedupe: says where it comes from)`,
  };
}

/** `<hook>-<delivery id>`, or `<hook>-<sha256 of the id>` when the id cannot be part of a task id as it is. */
export function deliveryTaskId(hook: string, id: string): string {
  const plain = `${hook}-${id}`;
  if (TASK_ID_PATTERN.test(plain)) return plain;
  return `${hook}-${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}
