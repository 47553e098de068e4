// The package's public API: the client for starting and steering runs, and the plan types it takes.
export * from './client';
export { SopCompileError } from './shapes/diagnostics';
export type { ExecutionPlan, RouteTarget, StepSpec } from './shapes/execution-plan';
export {
  ANSWER_SHAPE,
  type AnswerInput,
  AnswerInputSchema,
} from './shapes/message-args';
export type { PendingInput, RunStatusView } from './shapes/messages';
export type { RouteTaken, RunInput, RunOptions, RunResult, RunStatus } from './shapes/run';
export {
  parseRunRequest,
  type RepoRef,
  RepoRefSchema,
  type RunRequest,
  RunRequestSchema,
} from './shapes/run-request';
export { defineSop } from './sop/compile';
export { planFromBundle } from './sop/plan-from-bundle';
export type { FieldValue, InputOf } from './sop/typed';
