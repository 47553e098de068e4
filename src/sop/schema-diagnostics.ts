// zod issues → coded, located diagnostics. Unknown keys get a did-you-mean from the schema's own keys,
// and union failures are reduced to the branch that got furthest, so the message is about what the
// author most likely meant.

import type { z } from 'zod';
import { type Diagnostic, type DiagnosticCode, diagnostic, didYouMean } from '../shapes/diagnostics';
import type { KeyPath, SourceFile } from './yaml-source';

type Issue = z.core.$ZodIssue;

export function schemaDiagnostics(schema: z.ZodType, issues: Issue[], source: SourceFile): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) out.push(...toDiagnostics(schema, pickBranch(issue), source));
  return dedupe(out);
}

function pickBranch(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  // The branch whose first problem lies deepest is the one the author was writing.
  const scored = issue.errors.map((branch) => ({
    branch,
    depth: Math.max(...branch.map((i) => i.path.length)),
    rootTypeError: branch.every((i) => i.code === 'invalid_type' && i.path.length === 0),
  }));
  scored.sort((a, b) => Number(a.rootTypeError) - Number(b.rootTypeError) || b.depth - a.depth);
  const best = scored[0];
  if (best.rootTypeError) return issue; // nothing matched at all: report the union as a whole
  const [first] = best.branch;
  return pickBranch({ ...first, path: [...issue.path, ...first.path] } as Issue);
}

function toDiagnostics(schema: z.ZodType, issue: Issue, source: SourceFile): Diagnostic[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const where = (p: KeyPath, key = false) => ({
    file: source.file,
    ...source.locate(p, { key }),
    at: p.join('.') || '(top level)',
  });
  const at = path.join('.') || 'the document';
  const value = valueAt(source.data, path);
  // a missing key is reported at the key of the mapping that should hold it
  const missing = (expected: string) =>
    diagnostic('SOP103', `${at} is required (${expected})`, where(path.slice(0, -1), path.length > 1));

  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(schema, path);
      return issue.keys.map((key) => {
        const suggestion = didYouMean(key, known);
        const message = `unknown key "${key}" in ${at}${suggestion ? `: did you mean "${suggestion}"?` : ''}`;
        const hint = known.length > 0 ? `allowed keys here: ${known.join(', ')}` : undefined;
        return diagnostic('SOP101', message, where([...path, key], true), hint);
      });
    }
    case 'invalid_type': {
      if (value === undefined) return [missing(`${issue.expected}`)];
      const got = describe(value);
      return [diagnostic('SOP102', `${at} must be ${article(issue.expected)}, not ${got}`, where(path))];
    }
    case 'invalid_value': {
      if (value === undefined)
        return [missing(`one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`)];
      const allowed = issue.values.map((v) => JSON.stringify(v));
      const suggestion = typeof value === 'string' ? didYouMean(value, issue.values.map(String)) : undefined;
      const message = `${at} is ${JSON.stringify(value)}, allowed: ${allowed.join(', ')}${
        suggestion ? ` (did you mean "${suggestion}"?)` : ''
      }`;
      return [diagnostic('SOP105', message, where(path))];
    }
    case 'too_small':
    case 'too_big': {
      const code: DiagnosticCode = typeof value === 'number' ? 'SOP104' : 'SOP107';
      return [diagnostic(code, `${at}: ${issue.message}`, where(path))];
    }
    case 'invalid_format': {
      const isName = issue.format === 'regex' && /lowercase letter/.test(issue.message);
      const code: DiagnosticCode = isName ? 'SOP106' : 'SOP107';
      return [diagnostic(code, `${at} is ${JSON.stringify(value)}: ${issue.message}`, where(path))];
    }
    case 'invalid_key': {
      const name = JSON.stringify((issue as { input?: unknown }).input ?? path[path.length - 1]);
      const message = `the name ${name} in ${at} ${issue.issues[0]?.message ?? 'is not allowed'}`;
      return [diagnostic('SOP106', message, where(path, true))];
    }
    case 'invalid_union':
      return [diagnostic('SOP102', `${at} has the wrong form (${describe(value)})`, where(path))];
    default:
      return [diagnostic('SOP107', `${at}: ${issue.message}`, where(path))];
  }
}

/** The keys an object schema accepts at `path`, for did-you-mean. */
function knownKeys(schema: z.ZodType, path: KeyPath): string[] {
  const keys = new Set<string>();
  const visit = (node: z.ZodType | undefined, rest: KeyPath) => {
    const def = node && (node as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (!def) return;
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'readonly':
        return visit(def.innerType as z.ZodType, rest);
      case 'lazy':
        return visit((def.getter as () => z.ZodType)(), rest);
      case 'pipe':
        return visit(def.in as z.ZodType, rest);
      case 'union':
        for (const option of def.options as z.ZodType[]) visit(option, rest);
        return;
      case 'object': {
        const shape = def.shape as Record<string, z.ZodType>;
        if (rest.length === 0) for (const key of Object.keys(shape)) keys.add(key);
        else visit(shape[String(rest[0])], rest.slice(1));
        return;
      }
      case 'record':
        if (rest.length > 0) visit(def.valueType as z.ZodType, rest.slice(1));
        return;
      case 'array':
        if (rest.length > 0) visit(def.element as z.ZodType, rest.slice(1));
        return;
    }
  };
  visit(schema, path);
  return [...keys];
}

function valueAt(data: unknown, path: KeyPath): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[segment];
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function article(expected: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    record: 'a mapping',
    array: 'a list',
    string: 'a text',
    number: 'a number',
    boolean: 'true or false',
  };
  return names[expected] ?? expected;
}

function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.code}|${d.line}|${d.column}|${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
