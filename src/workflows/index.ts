// The workflow bundle's entry point: everything exported here runs on the worker's task queue.
export { smokeWorkflow } from './smoke';
