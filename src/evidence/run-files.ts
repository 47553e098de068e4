import { sha256, versus } from './hashes';
import type { HistoryEvidence, HistoryLine, Recorded } from './history';
import type { FileHashes } from './record';

// run.json and executions.jsonl compared with what Temporal history says (history.ts): every field history
// holds, named with both values when it differs, and the whole file or line by its sha256 where the activity
// that wrote it reported one. Files history knows nothing about are said to be so, never counted as checked.

export const RUN_JSON = 'run.json';
export const EXECUTIONS = 'executions.jsonl';

/** What was compared, for the output: how, and what history could not vouch for. */
export interface RunFileCheck {
  problems: string[];
  /** files compared with history (a subset of run.json, executions.jsonl and command logs) */
  compared: string[];
  /** one line per file saying how it was compared, or why it could not be */
  notes: string[];
}

const where = (at: Recorded) => `event ${at.eventId} of run ${at.runId}`;

/** A value as a message shows it: JSON, shortened. */
function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** The fields where `actual` differs from `expected` (deep, named like `routesTaken[1].route`), at most `max`. */
export function differences(
  actual: unknown,
  expected: unknown,
  field: string,
  max = 5,
): Array<{ field: string; actual: unknown; expected: unknown }> {
  const out: Array<{ field: string; actual: unknown; expected: unknown }> = [];
  const walk = (a: unknown, e: unknown, name: string) => {
    if (out.length >= max) return;
    if (Array.isArray(e) && Array.isArray(a)) {
      for (let i = 0; i < Math.max(a.length, e.length); i++) walk(a[i], e[i], `${name}[${i}]`);
    } else if (isObject(e) && isObject(a)) {
      for (const key of new Set([...Object.keys(e), ...Object.keys(a)]))
        walk(a[key], e[key], name ? `${name}.${key}` : key);
    } else if (JSON.stringify(a) !== JSON.stringify(e)) out.push({ field: name, actual: a, expected: e });
  };
  walk(actual, expected, field);
  return out;
}
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Only the fields history holds: a field history has no value for is not compared. */
function fieldProblems(file: string, actual: Record<string, unknown>, expected: Record<string, unknown>) {
  const found: Array<{ field: string; actual: unknown; expected: unknown }> = [];
  for (const [key, value] of Object.entries(expected))
    if (value !== undefined) found.push(...differences(actual[key], value, key));
  return found.map(
    (d) => `${file}: field ${d.field} is ${show(d.actual)}, but Temporal history says ${show(d.expected)}`,
  );
}

function parseObject(text: string): Record<string, unknown> | string {
  try {
    const value = JSON.parse(text);
    return isObject(value) ? value : 'not a JSON object';
  } catch (err) {
    return `not valid JSON: ${(err as Error).message}`;
  }
}

/** run.json against the latest execution's final stamp. */
export function checkRunJson(
  read: (file: string) => string | undefined,
  history: HistoryEvidence,
): RunFileCheck {
  const stamp = history.stamp;
  if (!stamp) {
    const why =
      history.latest.status === 'running'
        ? 'the run is still running, its final stamp is not in history yet'
        : `the run's latest execution ended ${history.latest.status} without stamping it`;
    return { problems: [], compared: [], notes: [`${RUN_JSON}: not in history (${why})`] };
  }
  const text = read(RUN_JSON);
  const from = `${stamp.source}, ${where(stamp)}`;
  if (text === undefined)
    return {
      problems: [`${RUN_JSON} is missing, but Temporal history holds ${from}`],
      compared: [RUN_JSON],
      notes: [],
    };
  const summary = parseObject(text);
  if (typeof summary === 'string')
    return { problems: [`${RUN_JSON} is ${summary}`], compared: [RUN_JSON], notes: [] };
  const problems = fieldProblems(RUN_JSON, summary, stamp.fields).map((p) => `${p} (${from})`);
  const fields = Object.keys(stamp.fields).join(', ');
  if (problems.length === 0 && stamp.sha256 && sha256(text) !== stamp.sha256)
    problems.push(
      `${RUN_JSON} was modified: sha256 ${versus(sha256(text), stamp.sha256)} as stamped (${from}); the fields history holds (${fields}) match, so another one was edited`,
    );
  const how = stamp.sha256 ? `whole file by sha256, and ${fields}` : `${fields} (the rest is not in history)`;
  return { problems, compared: [RUN_JSON], notes: [`${RUN_JSON}: ${how}`] };
}

/** Every line of executions.jsonl against the line history holds for its execution, and no line missing. */
export function checkExecutions(
  read: (file: string) => string | undefined,
  history: HistoryEvidence,
): RunFileCheck {
  const text = read(EXECUTIONS);
  const required = [...history.lines.values()].filter((l) => !l.optional);
  if (text === undefined)
    return required.length > 0
      ? {
          problems: [`${EXECUTIONS} is missing, but Temporal history holds ${required.length} line(s) of it`],
          compared: [EXECUTIONS],
          notes: [],
        }
      : { problems: [], compared: [], notes: [] };
  const problems: string[] = [];
  const notes: string[] = [];
  const count = { hashed: 0, fieldsOnly: 0 };
  const byPath = new Map<string, Array<{ at: string; line: Record<string, unknown>; raw: string }>>();
  for (const [index, raw] of text.split('\n').entries()) {
    if (raw === '') continue;
    const at = `${EXECUTIONS} line ${index + 1}`;
    const line = parseObject(raw);
    if (typeof line === 'string') {
      problems.push(`${at} is ${line}`);
      continue;
    }
    const key = String(line.path);
    byPath.set(key, [...(byPath.get(key) ?? []), { at: `${at} (${key})`, line, raw }]);
  }
  for (const [key, candidates] of byPath) {
    const expected = history.lines.get(key);
    if (!expected) {
      for (const { at, line } of candidates) {
        // launches lost before this version, recorded by a final stamp whose input history does not hold
        if (line.workerLost === true && !history.stamp?.sha256)
          notes.push(`${at}: not in history (a lost launch recorded with the final stamp)`);
        else problems.push(`${at} is not in Temporal history (no activity reported writing it)`);
      }
      continue;
    }
    const checked = candidates.map((c) => ({ ...c, problems: lineProblems(c, expected) }));
    const match = checked.find((c) => c.problems.length === 0) ?? checked[0];
    problems.push(...match.problems);
    for (const other of checked)
      if (other !== match)
        problems.push(`${other.at} is not in Temporal history (a second line for this execution)`);
    if (expected.sha256) count.hashed++;
    else count.fieldsOnly++;
  }
  for (const expected of required)
    if (!byPath.has(expected.path))
      problems.push(
        `${EXECUTIONS} has no line for ${expected.path}, which Temporal history records (${where(expected)})`,
      );
  const how = [
    count.hashed ? `${count.hashed} line(s) whole by sha256 and the fields history holds` : '',
    count.fieldsOnly
      ? `${count.fieldsOnly} line(s) by the fields history holds (kind, step, item, role, attempt, launch, route, usage; the rest is not in history)`
      : '',
  ].filter(Boolean);
  return {
    problems,
    compared: [EXECUTIONS],
    notes: [`${EXECUTIONS}: ${how.join('; ') || 'no lines'}`, ...notes],
  };
}

/** Fields every line has had since executions.jsonl exists; others were added over time. */
const ALWAYS = new Set(['kind', 'path', 'step', 'item', 'role', 'attempt', 'route']);

function lineProblems(c: { at: string; line: Record<string, unknown>; raw: string }, expected: HistoryLine) {
  // a line from before lines were hashed may predate a field: compared when it has it
  const fields = expected.sha256
    ? expected.fields
    : Object.fromEntries(Object.entries(expected.fields).filter(([k]) => ALWAYS.has(k) || k in c.line));
  const found = fieldProblems(c.at, c.line, fields).map((p) => `${p} (${where(expected)})`);
  if (found.length > 0 || !expected.sha256 || sha256(c.raw) === expected.sha256) return found;
  const names = Object.keys(fields).join(', ');
  return [
    `${c.at} was modified: sha256 ${versus(sha256(c.raw), expected.sha256)} as its activity wrote it (${where(expected)}); ${names ? `the fields history holds (${names}) match, so another one was edited` : 'history holds no fields of it'}`,
  ];
}

/** Command output logs against the sha256 their activity reported. */
export function checkOutputs(files: FileHashes, history: HistoryEvidence): RunFileCheck {
  const problems: string[] = [];
  const compared: string[] = [];
  for (const [file, recorded] of history.outputs) {
    const actual = files.get(file);
    compared.push(file);
    if (!actual)
      problems.push(`${file} is missing, but Temporal history holds its sha256 (${where(recorded)})`);
    else if (actual.sha256 !== recorded.sha256)
      problems.push(
        `${file} was modified: sha256 ${versus(actual.sha256, recorded.sha256)} recorded in Temporal history (${where(recorded)})`,
      );
  }
  return { problems, compared: compared.filter((f) => files.has(f)), notes: [] };
}
