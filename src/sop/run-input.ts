// A run's input and params against its SOP: the checks `sop run`, SopClient.start and the run request
// (inside the run, on the worker) share, so every way of starting a run gets the same messages.
import { Validator } from '@cfworker/json-schema';
import type { JsonSchema } from '../shapes/execution-plan';
import type { SopBundle } from './compile';
import { fieldDefaults } from './normalize';

export interface InputProblem {
  /** `input.request`, `input.items.0.title`, ... */
  path: string;
  message: string;
}

/** The given input over the SOP's declared defaults. */
export function inputWithDefaults(
  bundle: SopBundle,
  given: Record<string, unknown>,
): Record<string, unknown> {
  return { ...fieldDefaults(bundle.definition.input), ...given };
}

/** Where the input does not fit the SOP's input schema (empty when it fits or there is no schema). */
export function inputProblems(
  schema: JsonSchema | undefined,
  input: Record<string, unknown>,
): InputProblem[] {
  if (!schema) return [];
  const result = new Validator(schema as never, '2020-12', false).validate(input);
  if (result.valid) return [];
  return result.errors
    .filter((e) => e.keyword !== 'properties' && e.keyword !== 'allOf')
    .map((e) => ({
      path: `input${e.instanceLocation.replace(/^#/, '').replace(/\//g, '.')}`,
      message: e.error,
    }));
}

/** `bugfix has no param x (params: test_command)`, or undefined when every given param is declared. */
export function unknownParamsProblem(bundle: SopBundle, params: Record<string, unknown>): string | undefined {
  const declared = bundle.definition.params ?? {};
  const unknown = Object.keys(params).filter((p) => !(p in declared));
  if (unknown.length === 0) return undefined;
  return `${bundle.name} has no param ${unknown.join(', ')} (params: ${Object.keys(declared).join(', ') || 'none'})`;
}

/** A one-line description of the request for summaries: input.request, or the first string field. */
export function summarizeInput(input: Record<string, unknown>): string {
  const request = input.request ?? Object.values(input).find((v) => typeof v === 'string');
  const text = typeof request === 'string' ? request : JSON.stringify(input);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}
