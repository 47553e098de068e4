// Compares what an SOP test run did with what its test file expects; every mismatch is a readable
// expected-vs-actual text.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ArtifactSpec } from '../shapes/execution-plan';
import { renderText } from '../shapes/render-text';
import { regexOf, type TestExpect } from './spec';

export interface TestActual {
  status: string;
  failure?: string;
  /** step[:item]:route in the order taken */
  routes: string[];
  agentRuns: number;
  tokens: number;
  costUsd: number;
  filesChanged: string[];
  workspace: string;
  /** workspace-relative */
  runFolder: string;
}

export interface Mismatch {
  field: string;
  text: string;
}

export function compare(
  expected: TestExpect,
  actual: TestActual,
  artifacts: Pick<ArtifactSpec, 'name' | 'path'>[],
): Mismatch[] {
  const out: Mismatch[] = [];
  if (expected.status !== actual.status) {
    out.push({
      field: 'status',
      text: `status: expected ${expected.status}, got ${actual.status}${actual.failure ? ` (${actual.failure})` : ''}`,
    });
  }
  if (expected.failure !== undefined && !(actual.failure ?? '').includes(expected.failure)) {
    out.push({
      field: 'failure',
      text: `failure: expected a message containing ${JSON.stringify(expected.failure)}, got ${actual.failure ? JSON.stringify(actual.failure) : 'none'}`,
    });
  }
  if (expected.routes) {
    const want = alignGroups(expected.routes, actual.routes);
    if (!sameList(want, actual.routes))
      out.push({ field: 'routes', text: listDiff('routes', want, actual.routes) });
  }
  if (expected.files_changed) {
    const want = [...expected.files_changed].sort();
    if (!sameList(want, actual.filesChanged)) {
      const missing = want.filter((f) => !actual.filesChanged.includes(f));
      const extra = actual.filesChanged.filter((f) => !want.includes(f));
      out.push({
        field: 'files_changed',
        text: [
          'files_changed differ:',
          ...missing.map((f) => `  - ${f}   (expected to change, unchanged)`),
          ...extra.map((f) => `  + ${f}   (changed, not expected)`),
        ].join('\n'),
      });
    }
  }
  if (expected.agent_runs !== undefined) {
    const want = expected.agent_runs;
    const ok =
      typeof want === 'number'
        ? actual.agentRuns === want
        : (want.min === undefined || actual.agentRuns >= want.min) &&
          (want.max === undefined || actual.agentRuns <= want.max);
    if (!ok) {
      const wanted =
        typeof want === 'number' ? `${want}` : `between ${want.min ?? 0} and ${want.max ?? 'any number'}`;
      out.push({ field: 'agent_runs', text: `agent_runs: expected ${wanted}, got ${actual.agentRuns}` });
    }
  }
  const budget = expected.budget;
  if (budget?.max_tokens !== undefined && actual.tokens > budget.max_tokens)
    out.push({
      field: 'budget',
      text: `budget: ${actual.tokens} tokens used, max_tokens is ${budget.max_tokens}`,
    });
  if (budget?.max_usd !== undefined && actual.costUsd > budget.max_usd)
    out.push({
      field: 'budget',
      text: `budget: $${actual.costUsd.toFixed(4)} spent, max_usd is ${budget.max_usd}`,
    });
  for (const [key, want] of Object.entries(expected.artifacts ?? {})) {
    const mismatch = checkArtifact(key, want, actual, artifacts);
    if (mismatch) out.push({ field: `artifacts.${key}`, text: mismatch });
  }
  return out;
}

function checkArtifact(
  key: string,
  want: NonNullable<TestExpect['artifacts']>[string],
  actual: TestActual,
  artifacts: Pick<ArtifactSpec, 'name' | 'path'>[],
): string | undefined {
  const declared = artifacts.find((a) => a.name === key);
  const template = declared?.path ?? key;
  const relative = renderText(template, { run: { folder: actual.runFolder } });
  if (/\{\{/.test(relative))
    return `artifact ${key}: ${template} has variables other than {{ run.folder }}; name the file by its path`;
  const file = path.join(actual.workspace, relative);
  const exists = fs.existsSync(file);
  const label = declared ? `artifact ${key} (${relative})` : `file ${relative}`;
  if (!want.exists) return exists ? `${label}: expected not to exist, but it does` : undefined;
  if (!exists) return `${label}: expected to exist, missing`;
  const content = fs.readFileSync(file, 'utf8');
  const excerpt = () => indent(content.length > 600 ? `${content.slice(0, 600)}…` : content);
  if (want.contains !== undefined && !content.includes(want.contains))
    return `${label}: expected to contain ${JSON.stringify(want.contains)}; it holds:\n${excerpt()}`;
  if (want.matches !== undefined && !regexOf(want.matches).test(content))
    return `${label}: expected to match ${want.matches}; it holds:\n${excerpt()}`;
  return undefined;
}

/**
 * The expected routes as one list: a group (routes taken in any order) takes the order the run took them
 * in when the run's next routes are the same set, and stays in the written order otherwise.
 */
export function alignGroups(expected: Array<string | string[]>, actual: string[]): string[] {
  const out: string[] = [];
  for (const entry of expected) {
    if (typeof entry === 'string') {
      out.push(entry);
      continue;
    }
    const next = actual.slice(out.length, out.length + entry.length);
    const same = sameList([...next].sort(), [...entry].sort());
    out.push(...(same ? next : entry));
  }
  return out;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Expected and actual side by side, the first difference marked. */
export function listDiff(name: string, expected: string[], actual: string[]): string {
  const first = expected.findIndex((x, i) => x !== actual[i]);
  const at = first < 0 ? expected.length : first;
  const width = Math.max(8, ...expected.map((x) => x.length));
  const rows = Math.max(expected.length, actual.length);
  const lines = [
    `${name} differ (first difference at #${at + 1}):`,
    `     ${'expected'.padEnd(width)}  actual`,
  ];
  for (let i = 0; i < rows; i++) {
    const mark = expected[i] === actual[i] ? ' ' : '✗';
    lines.push(
      `${mark} ${String(i + 1).padStart(2)} ${(expected[i] ?? '(none)').padEnd(width)}  ${actual[i] ?? '(none)'}`,
    );
  }
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `    | ${l}`)
    .join('\n');
}
