// Workflow bundle for the benchmarks: the product's workflows plus the hand-written raw-Temporal baselines.
const { proxyActivities } = require('@temporalio/workflow');

exports.default = require('../dist/workflows/interpreter/index').sopInterpreter;
exports.sopInterpreter = exports.default;

const { noop } = proxyActivities({ startToCloseTimeout: '1 minute' });

/** Baseline: N no-op activities in sequence, the least any N-step workflow can do. */
exports.rawSteps = async function rawSteps(n) {
  for (let i = 0; i < n; i++) await noop(i);
  return n;
};
