// The package's public API: the client for starting and steering runs, and the plan types it takes.
export * from './client';
export {
  ANSWER_SHAPE,
  type AnswerInput,
  AnswerInputSchema,
} from './model/message-args';
export type { ExecutionPlan, RouteTarget, StepSpec } from './model/plan';
export type { RouteTaken, RunInput, RunOptions, RunResult, RunStatus } from './model/run';
export {
  parseRunRequest,
  type RepoRef,
  RepoRefSchema,
  type RunRequest,
  RunRequestSchema,
} from './model/run-request';
export { defineSop } from './sop/compile';
export { SopCompileError } from './sop/diagnostics';
export { planFromBundle } from './sop/plan';
export type { FieldValue, InputOf } from './sop/typed';
export type { PendingInput, RunStatusView } from './workflows/messages';
