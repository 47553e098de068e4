/**
 * The interpreter's history layout, chosen when a run starts and carried in its input (and through
 * continue-as-new), so a run keeps the layout it started with whatever code replays it:
 * 1 (absent): every effect is a regular activity, and later changes are gated by `patched()` markers;
 * 2: the quick file updates (worklist reads and writes, the final run.json stamp) are local activities
 *    and every change from before is simply on, without markers. Fewer events, tasks and visibility
 *    writes per step; see bench/ "history" and "throughput".
 * 3: every change gated by a marker in engine 2 is simply on, without markers (interpreter/patches.ts
 *    says why: a marker decided right after a local activity could fail the replay of a run).
 */
export const CURRENT_ENGINE = 3;
