import { executionLabel, rateLimitNote } from '../shapes/execution-label';
import type { ActiveRole } from '../shapes/messages';

/** Machine output for `--json`: one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Aligned columns, the way `gh` and `kubectl` print lists. `style` may colour a body cell; it gets the
 * cell's text and its column and is applied after padding, so escapes do not skew the columns.
 */
export function printTable(
  header: string[],
  rows: string[][],
  style: (text: string, column: number) => string = (text) => text,
): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[], styled: boolean) =>
    cells
      .map((c, i) => {
        const padded = c.padEnd(widths[i]);
        return styled ? style(c, i) + padded.slice(c.length) : padded;
      })
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(header, false), ...rows.map((r) => line(r, true))].join('\n')}\n`);
}

/** A cost for people: cents from $1 up, four decimals below (trailing zeros dropped), never float noise. */
export function formatUsd(usd: number): string {
  const fixed = usd.toFixed(usd < 1 ? 4 : 2);
  return `$${fixed.replace(/(\.\d\d[1-9]?)0+$/, '$1')}`;
}

/** A cost for machines: rounded to a millionth of a dollar (sums of float prices are not exact). */
export { roundUsd } from '../console/run-view';

/** An execution running now, e.g. `fix · agent · rework 1 · codex — rate limited — resuming at 14:03:07 (in 14 s)`. */
export function describeActive(a: ActiveRole, nowMs = Date.now()): string {
  const label = executionLabel(a);
  if (a.waitingForQuota) return `${label} — ${a.waitingForQuota}`;
  if (a.rateLimitedUntilMs === undefined) return label;
  const clock = new Date(a.rateLimitedUntilMs).toTimeString().slice(0, 8); // the reader's local time
  return `${label} — ${rateLimitNote(a.rateLimitedUntilMs, nowMs, clock)}`;
}
