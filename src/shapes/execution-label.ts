// How a running execution is named for people, the same in the Web UI's current details, activity
// summaries, `sop runs show`, `sop run`'s progress lines and `sop logs`. Pure: usable in workflow code.

export interface ExecutionLabel {
  step: string;
  item?: string;
  role?: string;
  attempt?: number;
  /** how many times the work was sent back before this execution (0 or absent: the first version) */
  rework?: number;
  provider?: string;
  /** the harness launch of this execution, when it had to be launched again (a lost worker, a crash) */
  launch?: number;
}

/**
 * `step · item · role · attempt 1 · codex`; a rework reads `rework 2` instead of starting over at
 * `attempt 1` (with `attempt N` only when a try of that rework had to be repeated).
 */
export function executionLabel(e: ExecutionLabel): string {
  const rework = e.rework ? `rework ${e.rework}` : undefined;
  const attempt = e.attempt && (!e.rework || e.attempt > 1) ? `attempt ${e.attempt}` : undefined;
  const launch = e.launch && e.launch > 1 ? `launch ${e.launch}` : undefined;
  return [e.step, e.item, e.role, rework, attempt, e.provider, launch].filter(Boolean).join(' · ');
}

/** "rate limited — resuming at 14:03:07 (in 14 s)"; `clock` is the reset time as the reader's clock shows it. */
export function rateLimitNote(untilMs: number, nowMs: number, clock: string): string {
  return `rate limited — resuming at ${clock} (in ${Math.max(0, Math.ceil((untilMs - nowMs) / 1000))} s)`;
}
