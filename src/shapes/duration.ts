// Durations as SOPs and policies write them: milliseconds as a number, or "90s", "30m", "2h", "1d".
// A module of its own so the policy model can use it without importing the SOP schema.

import { z } from 'zod';

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
export const Duration = z.union([
  z.number().int().min(1),
  z.string().regex(DURATION_PATTERN, 'must be milliseconds or a duration like "90s", "30m", "2h"'),
]);

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

export function durationMs(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = DURATION_PATTERN.exec(value);
  if (!match) throw new Error(`not a duration: ${value}`);
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2]]);
}
