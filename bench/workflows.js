// Workflow bundle for the benchmarks: the product's workflows plus the hand-written raw-Temporal baselines.
const { continueAsNew, proxyActivities } = require('@temporalio/workflow');

// every SOP's workflow type: a run request, resolved by the bench worker's resolve activity, as every run
// starts
exports.default = require('../dist/workflows/sop-run').sopWorkflow;
exports.sopInterpreter = require('../dist/workflows/interpreter/index').sopInterpreter;

const { noop } = proxyActivities({ startToCloseTimeout: '1 minute' });

/** Baseline: N no-op activities in sequence, the least any N-step workflow can do. */
exports.rawSteps = async function rawSteps(n) {
  for (let i = 0; i < n; i++) await noop(i);
  return n;
};

/**
 * Baseline of a worklist: N items, one no-op activity each, in sequence, continuing as new every 500 items
 * (as a raw Temporal worklist keeps its history bounded).
 */
exports.rawWorklist = async function rawWorklist(n, done = 0) {
  const end = Math.min(n, done + 500);
  for (let i = done; i < end; i++) await noop(i);
  if (end < n) await continueAsNew(n, end);
  return n;
};
