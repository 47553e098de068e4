// Workflow bundle for the benchmarks: the product's workflows plus the hand-written raw-Temporal baselines.
const { proxyActivities } = require('@temporalio/workflow');

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
