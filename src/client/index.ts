export {
  RestartRefusedError,
  RunExistsError,
  RunNotFoundError,
  RunRequestRefusedError,
  SopInputError,
  UnpricedModelError,
} from './errors';
export {
  type RunSummary,
  SopClient,
  type StartRequest,
  workflowIdOf,
} from './sop-client';
