// What `sop test` prints (a pass/fail table, then each failure in detail) and writes for CI (JUnit XML).

import type { TestResult } from './run';

export function resultRow(r: TestResult): string[] {
  const a = r.actual;
  return [
    r.test.sop,
    r.test.name,
    r.ok ? 'PASS' : 'FAIL',
    a ? a.status : 'error',
    a ? String(a.agentRuns) : '-',
    `${(r.durationMs / 1000).toFixed(1)}s`,
  ];
}

export const RESULT_HEADER = ['SOP', 'TEST', 'RESULT', 'STATUS', 'AGENT RUNS', 'TIME'];

/** The failure of one test as readable text: each mismatch (expected vs actual), scripted-model errors, where to look. */
export function failureText(r: TestResult): string {
  const lines = [`FAIL ${r.test.sop}/${r.test.name} (${r.test.file})`];
  if (r.error) lines.push(`  ${r.error}`);
  for (const m of r.mismatches) lines.push(...m.text.split('\n').map((l) => `  ${l}`));
  for (const e of r.modelErrors) lines.push(`  scripted model: ${e}`);
  if (r.workspace) {
    lines.push(`  workspace kept: ${r.workspace}`);
    if (r.actual) lines.push(`  run folder: ${r.workspace}/${r.actual.runFolder}`);
  }
  return lines.join('\n');
}

function xml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .split('')
    .filter((ch) => ch >= ' ' || ch === '\t' || ch === '\n' || ch === '\r') // XML 1.0 has no other control characters
    .join('');
}

/** JUnit XML: one testsuite per SOP, one testcase per test file. */
export function junitXml(results: TestResult[]): string {
  const bySop = new Map<string, TestResult[]>();
  for (const r of results) bySop.set(r.test.sop, [...(bySop.get(r.test.sop) ?? []), r]);
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const suites = [...bySop].map(([sop, rs]) => {
    const failures = rs.filter((r) => !r.ok && !r.error).length;
    const errors = rs.filter((r) => r.error).length;
    const time = rs.reduce((t, r) => t + r.durationMs, 0);
    const cases = rs.map((r) => {
      const open = `    <testcase classname="sop.${xml(sop)}" name="${xml(r.test.name)}" file="${xml(r.test.file)}" time="${seconds(r.durationMs)}"`;
      if (r.ok) return `${open}/>`;
      const tag = r.error ? 'error' : 'failure';
      const message = r.error ?? r.mismatches.map((m) => m.field).join(', ');
      return `${open}>\n      <${tag} message="${xml(message)}">${xml(failureText(r))}</${tag}>\n    </testcase>`;
    });
    return `  <testsuite name="${xml(sop)}" tests="${rs.length}" failures="${failures}" errors="${errors}" time="${seconds(time)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  const failures = results.filter((r) => !r.ok && !r.error).length;
  const errors = results.filter((r) => r.error).length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="sop test" tests="${results.length}" failures="${failures}" errors="${errors}">\n${suites.join('\n')}\n</testsuites>\n`;
}
