import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { collectRun, type HistoryEvidence, type HistoryLine } from '../../src/evidence/history';
import { checkExecutions, checkRunJson, differences } from '../../src/evidence/run-files';
import { historiesDir } from '../support/histories';

// run.json and executions.jsonl against what history holds, without a server: histories recorded from real
// runs (test/histories, from before activities reported line hashes) and hand-made ones.

const empty = (): HistoryEvidence => ({
  records: new Map(),
  outputs: new Map(),
  lines: new Map(),
  latest: { runId: 'r1', status: 'running' },
  runtimeWritten: new Set(),
  runs: 1,
});

function recorded(name: string): HistoryEvidence {
  const history = historyFromJSON(
    JSON.parse(fs.readFileSync(path.join(historiesDir, `${name}.json`), 'utf8')),
  );
  const into = empty();
  collectRun(history.events ?? [], 'r1', into);
  return into;
}

const reader = (files: Record<string, string>) => (file: string) => files[file];
const jsonl = (lines: object[]) => `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;

/** The lines a run wrote, as history says they were, with the fields history does not hold added. */
const linesOf = (history: HistoryEvidence): Array<Record<string, unknown>> =>
  [...history.lines.values()].map((l) => ({
    ...l.fields,
    path: l.path,
    provider: 'codex',
    startedAt: '2026-12-01T10:00:00.000Z',
    durationMs: 12,
    accepted: true,
  }));

test('a run recorded before lines were hashed: every line is compared by the fields history holds, and an edited route is named', () => {
  const history = recorded('cmd');
  expect([...history.lines.values()].map((l) => [l.path, l.fields.route ?? l.fields.exitCode])).toEqual([
    ['steps/tests/1-command.log', 3],
    ['steps/fix/0002-agent-a1-l1', 'fixed'],
    ['steps/tests/3-command.log', 0],
    ['steps/report/0004-agent-a1-l1', 'done'],
  ]);
  const lines = linesOf(history);
  const intact = checkExecutions(reader({ 'executions.jsonl': jsonl(lines) }), history);
  expect(intact.problems).toEqual([]);
  expect(intact.notes).toEqual([
    'executions.jsonl: 4 line(s) by the fields history holds (kind, step, item, role, attempt, launch, route, usage; the rest is not in history)',
  ]);

  lines[3] = { ...lines[3], route: 'rejected' };
  const edited = checkExecutions(reader({ 'executions.jsonl': jsonl(lines) }), history);
  expect(edited.problems).toEqual([
    'executions.jsonl line 4 (steps/report/0004-agent-a1-l1): field route is "rejected", but Temporal history says "done" (event 33 of run r1)',
  ]);
});

test("run.json of a run recorded before the stamp was reported: status, failure, routes and usage from the run's result", () => {
  const history = recorded('cmd');
  expect(history.stamp?.source).toBe("the run's result");
  const summary: Record<string, unknown> = {
    sop: 'cmd',
    task: 't',
    ...structuredClone(history.stamp!.fields),
    endedAt: '2026-12-01T10:00:00.000Z',
  };
  const intact = checkRunJson(reader({ 'run.json': JSON.stringify(summary) }), history);
  expect(intact.problems).toEqual([]);
  expect(intact.compared).toEqual(['run.json']);
  expect(intact.notes[0]).toMatch(
    /^run\.json: status, failure, .*routesTaken.* \(the rest is not in history\)$/,
  );

  const routes = summary.routesTaken as Array<{ route: string }>;
  routes[1] = { ...routes[1], route: 'skipped' };
  const edited = checkRunJson(
    reader({ 'run.json': JSON.stringify({ ...summary, status: 'failed' }) }),
    history,
  );
  expect(edited.problems).toEqual([
    `run.json: field status is "failed", but Temporal history says "completed" (the run's result, event 40 of run r1)`,
    `run.json: field routesTaken[1].route is "skipped", but Temporal history says "fixed" (the run's result, event 40 of run r1)`,
  ]);
});

test('run.json of a run whose latest execution did not stamp it is named as not in history, not counted', () => {
  const history = { ...empty(), latest: { runId: 'r2', status: 'terminated' } };
  const result = checkRunJson(reader({ 'run.json': '{"status":"running"}' }), history);
  expect(result).toEqual({
    problems: [],
    compared: [],
    notes: ["run.json: not in history (the run's latest execution ended terminated without stamping it)"],
  });
});

test('lost launches, a duplicate line and a line history never saw', () => {
  const history = empty();
  const line = (path: string, fields: Record<string, unknown>, extra: Partial<HistoryLine> = {}) =>
    history.lines.set(path, { path, fields, runId: 'r1', eventId: 7, ...extra });
  line(
    'steps/a/0001-agent-a1-l1',
    { kind: 'agent', step: 'a', route: null, workerLost: true },
    { optional: true },
  );
  line('steps/a/0002-agent-a1-l2', { kind: 'agent', step: 'a', route: 'done' });
  const written = [
    { kind: 'agent', path: 'steps/a/0002-agent-a1-l2', step: 'a', route: 'done' },
    // the same launch again (a zombie of the lost worker, say), and a lost launch of an old run
    { kind: 'agent', path: 'steps/a/0002-agent-a1-l2', step: 'a', route: 'other' },
    { kind: 'agent', path: 'steps/a/0003-agent-a1-l3', step: 'a', route: null, workerLost: true },
  ];
  const result = checkExecutions(reader({ 'executions.jsonl': jsonl(written) }), history);
  // the optional lost launch (its recorder never reported back) is not missing; the matching line is kept
  expect(result.problems).toEqual([
    'executions.jsonl line 2 (steps/a/0002-agent-a1-l2) is not in Temporal history (a second line for this execution)',
  ]);
  expect(result.notes).toContain(
    'executions.jsonl line 3 (steps/a/0003-agent-a1-l3): not in history (a lost launch recorded with the final stamp)',
  );
  // once the run's stamp is hashed, every line must be in history
  history.stamp = { fields: {}, sha256: 'f'.repeat(64), source: 'x', runId: 'r1', eventId: 9 };
  expect(checkExecutions(reader({ 'executions.jsonl': jsonl(written) }), history).problems).toContain(
    'executions.jsonl line 3 (steps/a/0003-agent-a1-l3) is not in Temporal history (no activity reported writing it)',
  );
});

test('differences name the deepest field that differs, and an absent one as absent', () => {
  expect(differences({ a: [{ b: 1 }, { b: 2 }] }, { a: [{ b: 1 }, { b: 3 }], c: 'x' }, '')).toEqual([
    { field: 'a[1].b', actual: 2, expected: 3 },
    { field: 'c', actual: undefined, expected: 'x' },
  ]);
});
