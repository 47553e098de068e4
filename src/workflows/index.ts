// The workflow bundle's entry point: everything exported here runs on the worker's task queue.
// The default export serves every workflow type without a named export, so each SOP run shows under
// its SOP's name in the Web UI (workflowInfo().workflowType) while one interpreter runs them all; it takes
// a run request (resolved on a worker; src/workflows/sop-run.ts).
// (`./interpreter/index`, not `./interpreter`: a dist/ built before the split still holds interpreter.js,
// which a bare `./interpreter` would resolve to first.)
export { sopInterpreter } from './interpreter/index';
export { sopQuota } from './quota';
export { sopSensor } from './sensor';
export { smokeWorkflow } from './smoke';
export { sopWorkflow as default } from './sop-run';
