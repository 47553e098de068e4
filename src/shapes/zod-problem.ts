// A failed zod parse as one line that names the field and says what is expected. Pure: the workflow uses
// it for run requests and message arguments, where a stack of issues would not fit in a failure line.
import type { $ZodError } from 'zod/v4/core';

/**
 * The first issue of `error` (for `value`), e.g. `repo.path is required (string)` or
 * `input must be an object, not a string`; unknown fields come first (usually a typo that caused the
 * rest). `root` prefixes the path (`the value` names the whole); `known` lists the top-level fields.
 */
export function zodProblem(
  error: $ZodError,
  value: unknown,
  root: string,
  known?: string[],
  whole = root || 'the value',
): string {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0];
  const path = issue.path.map(String);
  const at = path.length === 0 ? whole : [root, ...path].filter(Boolean).join('.');
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  const actual = valueAt(value, path);
  let line: string;
  switch (issue.code) {
    case 'unrecognized_keys':
      line = `${at} has unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}${
        known && path.length === 0 ? `; the fields are ${known.join(', ')}` : ''
      }`;
      break;
    case 'invalid_type': {
      const expected = issue.expected === 'record' ? 'object' : issue.expected;
      line =
        actual === undefined
          ? `${at} is required${expected === 'nonoptional' ? '' : ` (${expected})`}`
          : `${at} must be ${article(expected)}, not ${describe(actual)}`;
      break;
    }
    case 'invalid_value':
      line = `${at} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    default:
      // the schemas give their own message for every other check (length, pattern, refinements)
      line = `${at}: ${issue.message}`;
  }
  return `${line}${more}`;
}

function valueAt(value: unknown, path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  return article(typeof value);
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
