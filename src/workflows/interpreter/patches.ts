// Every change to the interpreter's commands since its first release, and the engine (engine-version.ts)
// from which it is simply on. Runs of an older engine decide it with a `patched()` marker, as they did
// when they were recorded; runs of a newer engine never call `patched()` for it.
//
// Why engine 3 folds in the markers of engine 2: a marker decided in code that runs right after a local
// activity can land in a later workflow task than the one whose look-ahead tells the replaying worker
// about it (the local activity's result and the code after it can be split over two tasks, depending on
// timing), and the replay then fails with "[TMPRL1100] Non-deprecated patch marker encountered … but there
// is no corresponding change command". Input-carried engine versions cannot be split that way.
import { patched } from '@temporalio/workflow';

const PATCHES = {
  'worklist-window-v1': 2,
  'run-summary-v1': 2,
  'resume-before-restart-v1': 2,
  'any-failure-is-run-failure-v1': 2,
  'missing-producer-artifact-is-rework-v1': 3,
  'max-steps-v1': 3,
  'workflow-sets-sop-name-v1': 3,
  'sop-step-input-and-end-v1': 3,
  'worker-loss-relaunch-v1': 3,
  'answer-record-v1': 3,
  'emit-events-v1': 3,
  'agent-sessions-v1': 3,
  'agent-questions-v1': 3,
  // deliveries to the forge (deliveries.ts): on in no engine yet, so every run records its marker
  'forge-deliveries-v1': 4,
  // review gates (reviews.ts): the inline comments of a review read from the forge
  'forge-review-v1': 4,
  // review gates (reviews.ts): each review is confirmed with the forge (by its id) before it counts
  'forge-review-confirm-v1': 4,
} as const;
export type PatchId = keyof typeof PATCHES;

/** Whether the change is on in this run: by its engine, or by the run's own marker before that engine. */
export function hasChange(engine: number, id: PatchId): boolean {
  return engine >= PATCHES[id] || patched(id);
}
