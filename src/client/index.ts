export {
  RestartRefusedError,
  RunExistsError,
  RunNotFoundError,
  SopInputError,
  UnpricedModelError,
} from './errors';
export {
  type RunSummary,
  SopClient,
  type StartRequest,
  type StartRunOptions,
  workflowIdOf,
} from './sop-client';
