// The package's public API: the client for starting and steering runs, and the plan types it takes.
export * from './client';
export { defineSop } from './sop/compile';
export { SopCompileError } from './sop/diagnostics';
export { planFromBundle } from './sop/plan';
export type { FieldValue, InputOf } from './sop/typed';
export type { RunInput, RunOptions, RunResult } from './workflows/interpreter';
export type { AnswerInput, PendingInput, RouteTaken, RunStatus, RunStatusView } from './workflows/messages';
export type { ExecutionPlan, RouteTarget, StepSpec } from './workflows/plan';
