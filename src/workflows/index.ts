// The workflow bundle's entry point: everything exported here runs on the worker's task queue.
// The default export serves every workflow type without a named export, so each SOP run shows under
// its SOP's name in the Web UI (workflowInfo().workflowType) while one interpreter runs them all.
export { sopInterpreter as default, sopInterpreter } from './interpreter';
export { smokeWorkflow } from './smoke';
