import { createHash } from 'node:crypto';

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** The first characters of two hashes, as many as it takes to see them differ (at least 12). */
function differing(a: string, b: string): [string, string] {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const n = Math.min(Math.max(12, i + 4), Math.max(a.length, b.length));
  const show = (h: string) => (h.length > n ? `${h.slice(0, n)}…` : h);
  return [show(a), show(b)];
}

/** `<a>… ≠ <b>…` with enough characters to see the difference. */
export function versus(a: string, b: string): string {
  const [x, y] = differing(a, b);
  return `${x} ≠ ${y}`;
}
