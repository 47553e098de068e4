import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIAGNOSTIC_CODES } from '../../src/shapes/diagnostics';
import { compileSopDir } from '../../src/sop/compile';

// Each folder under malformed/ is base.yaml with one mistake (see generate.js); expect.json says which
// coded error the compiler must report, and where.
const root = path.join(__dirname, 'malformed');
const cases = fs
  .readdirSync(root)
  .filter((name) => fs.statSync(path.join(root, name)).isDirectory())
  .sort();

interface Expectation {
  code: keyof typeof DIAGNOSTIC_CODES;
  file: string;
  line: number | null;
  column: number | null;
}

test('the suite has at least 50 malformed SOP folders', () => {
  expect(cases.length).toBeGreaterThanOrEqual(50);
});

describe.each(cases)('%s', (name) => {
  const dir = path.join(root, name);
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expect.json'), 'utf8')) as Expectation;

  test(`reports ${expected.code} at the mistake, with a hint, and no bundle`, () => {
    const result = compileSopDir(dir, { relativeTo: dir });
    expect(result.bundle).toBeUndefined();
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    const found = errors.map((d) => ({ code: d.code, file: d.file, line: d.line, column: d.column }));
    const want = {
      code: expected.code,
      file: expected.file,
      ...(expected.line === null ? {} : { line: expected.line, column: expected.column }),
    };
    expect(found).toContainEqual(expect.objectContaining(want));
    for (const d of result.diagnostics) {
      expect(Object.keys(DIAGNOSTIC_CODES)).toContain(d.code);
      expect(d.message).not.toMatch(/\n\s+at /); // no stack traces
      expect(d.hint.length).toBeGreaterThan(0);
    }
  });
});

test('the base every fixture derives from compiles cleanly', () => {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'sop-base-'));
  const donor = path.join(root, 'template-unknown-input');
  fs.cpSync(donor, dir, { recursive: true });
  fs.copyFileSync(path.join(root, 'base.yaml'), path.join(dir, 'sop.yaml'));
  fs.writeFileSync(path.join(dir, 'prompts/plan.md'), 'Plan: {{ input.request }}\n');
  const result = compileSopDir(dir, { relativeTo: dir });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(result.bundle?.name).toBe('sample');
});
