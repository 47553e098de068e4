import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { DIAGNOSTIC_CODES } from '../../src/shapes/diagnostics';
import { compileSopDir } from '../../src/sop/compile';

// Generated malformed SOPs: structural and value mutations of a valid SOP (seeded, so a failure can be
// reproduced), plus raw text damage. Every case must end in coded, located diagnostics or a valid bundle:
// never an exception. SOP_FUZZ_CASES raises the count (the long variant).
const CASES = Number(process.env.SOP_FUZZ_CASES ?? 600);
const SEED = Number(process.env.SOP_FUZZ_SEED ?? 20261125);

const malformedDir = path.join(__dirname, 'malformed');
const base = fs.readFileSync(path.join(malformedDir, 'base.yaml'), 'utf8');
const support = ['prompts', 'schemas'];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIRD: unknown[] = [
  null,
  0,
  -1,
  1.5,
  1e9,
  '',
  ' ',
  'x'.repeat(5000),
  '{{ nope.nothing }}',
  '../../etc/passwd',
  '/abs/path',
  true,
  [],
  [null],
  {},
  { to: 'nowhere' },
  '\u0000',
  'ünïcødé ☃',
  '{{',
  '5 parsecs',
];

/** Every path (as key arrays) to a node of the parsed document. */
function paths(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) paths(v, [...prefix, i], out);
  } else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function mutate(next: () => number): { name: string; text: string } {
  const pick = <T>(list: T[]): T => list[Math.floor(next() * list.length)];
  const kind = pick(['replace', 'delete', 'rename', 'insert', 'text', 'replace', 'delete']);
  if (kind === 'text') {
    const damage = pick(['truncate', 'tab', 'bracket', 'colon', 'dup', 'bytes']);
    const at = Math.floor(next() * base.length);
    const text =
      damage === 'truncate'
        ? base.slice(0, at)
        : damage === 'tab'
          ? `${base.slice(0, at)}\t${base.slice(at)}`
          : damage === 'bracket'
            ? `${base.slice(0, at)}[${base.slice(at)}`
            : damage === 'colon'
              ? `${base.slice(0, at)}: :${base.slice(at)}`
              : damage === 'dup'
                ? `${base}\n${base.split('\n').slice(0, 3).join('\n')}\n`
                : `${base.slice(0, at)}\u0007\u00ff${base.slice(at)}`;
    return { name: `text-${damage}@${at}`, text };
  }
  const doc = parseDocument(base).toJS() as Record<string, unknown>;
  const all = paths(doc).filter((p) => p.length > 0);
  const target = pick(all);
  const parent = target
    .slice(0, -1)
    .reduce<Record<string | number, unknown>>(
      (node, key) => node[key] as Record<string | number, unknown>,
      doc as Record<string | number, unknown>,
    );
  const key = target[target.length - 1];
  if (kind === 'replace') parent[key] = pick(WEIRD);
  else if (kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else if (kind === 'rename' && !Array.isArray(parent)) {
    parent[`${String(key)}x`] = parent[key];
    delete parent[key];
  } else if (kind === 'insert' && parent && typeof parent === 'object' && !Array.isArray(parent)) {
    parent[pick(['extra', 'to', 'finish', 'kind', 'for_each', 'after', 'policy'])] = pick(WEIRD);
  } else parent[key] = pick(WEIRD);
  return { name: `${kind}-${target.join('.')}`, text: stringify(doc) };
}

test(`${CASES} generated malformed SOPs give coded, located errors and never a crash`, () => {
  const next = rng(SEED);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-fuzz-'));
  for (const dir of support)
    fs.cpSync(path.join(malformedDir, 'after-cycle', dir), path.join(root, dir), { recursive: true });
  let failedAsExpected = 0;
  const crashes: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const { name, text } = mutate(next);
    fs.writeFileSync(path.join(root, 'sop.yaml'), text);
    try {
      const result = compileSopDir(root);
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length === 0) {
        expect(result.bundle).toBeDefined();
        continue;
      }
      failedAsExpected++;
      for (const d of errors) {
        if (!(d.code in DIAGNOSTIC_CODES) || !d.file || !d.message || !d.hint)
          crashes.push(`#${i} ${name}: incomplete diagnostic ${JSON.stringify(d)}`);
        if (d.line < 1 && d.code !== 'SOP002')
          crashes.push(`#${i} ${name}: ${d.code} without a position: ${d.message}`);
      }
    } catch (err) {
      crashes.push(`#${i} ${name}: threw ${(err as Error).stack?.split('\n').slice(0, 3).join(' | ')}`);
    }
  }
  expect(crashes).toEqual([]);
  // the mutations are not harmless: most of them must be caught
  expect(failedAsExpected).toBeGreaterThan(CASES * 0.6);
});
