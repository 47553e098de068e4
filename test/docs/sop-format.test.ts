import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import type { z } from 'zod';
import { ProjectConfig, SopFile } from '../../src/sop/schema';
import { loadTest } from '../../src/soptest/spec';
import { codeBlocks, readPage, root } from './markdown';

// docs/sop-format.md is the reference of the SOP format: it names every key the schema accepts, and its
// examples are the shipped files they say they are.

const page = readPage('docs/sop-format.md');

/** Every key of every object the schema can contain (through unions, lists, records, lazy parts). */
function keysOf(schema: z.ZodType, seen = new Set<unknown>()): Set<string> {
  const keys = new Set<string>();
  const visit = (s: z.ZodType) => {
    if (seen.has(s)) return;
    seen.add(s);
    const def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    switch (def.type) {
      case 'object':
        for (const [key, value] of Object.entries((s as unknown as z.ZodObject).shape)) {
          keys.add(key);
          visit(value as z.ZodType);
        }
        break;
      case 'optional':
      case 'nullable':
      case 'default':
        visit(def.innerType as z.ZodType);
        break;
      case 'union':
        for (const option of def.options as z.ZodType[]) visit(option);
        break;
      case 'lazy':
        visit((def.getter as () => z.ZodType)());
        break;
      case 'record':
        visit(def.valueType as z.ZodType);
        break;
      case 'array':
        visit(def.element as z.ZodType);
        break;
      case 'pipe':
        visit(def.in as z.ZodType);
        break;
    }
  };
  visit(schema);
  return keys;
}

test('the reference of docs/sop-format.md names every key of sop.yaml and sop.config.yaml', () => {
  const reference = page.slice(page.indexOf('## Every key'), page.indexOf('## Step kinds'));
  const keys = new Set([...keysOf(SopFile), ...keysOf(ProjectConfig)]);
  expect(keys.size).toBeGreaterThan(90);
  const missing = [...keys].filter((key) => !reference.includes(`\`${key}\``));
  expect(missing).toEqual([]);
});

test('the complete example is the shipped sops/bugfix/sop.yaml', () => {
  const example = codeBlocks(page).find((b) => b.lang === 'yaml' && b.body.startsWith('name: bugfix'));
  expect(parse(String(example?.body))).toEqual(
    parse(fs.readFileSync(path.join(root, 'sops', 'bugfix', 'sop.yaml'), 'utf8')),
  );
});

test('the sop validate example prints what the page shows', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-docs-'));
  fs.cpSync(path.join(root, 'sops', 'bugfix'), path.join(dir, 'sops', 'bugfix'), { recursive: true });
  const file = path.join(dir, 'sops', 'bugfix', 'sop.yaml');
  fs.writeFileSync(
    file,
    fs.readFileSync(file, 'utf8').replace('fixed: { to: test }', 'fixed: { to: tests }'),
  );
  const shown = codeBlocks(page).find((b) => b.body.startsWith('$ sop validate'));
  const [command, ...output] = String(shown?.body).trimEnd().split('\n');
  const result = await execa('node', [path.join(root, 'bin', 'sop.js'), ...command.split(' ').slice(2)], {
    cwd: dir,
    reject: false,
  });
  expect(result.exitCode).toBe(1);
  expect(`${result.stdout}\n${result.stderr}`.trim()).toBe(output.join('\n'));
});

test('the test file of docs/testing.md loads as a test of the shipped bugfix SOP', () => {
  const testing = readPage('docs/testing.md');
  const example = codeBlocks(testing).find((b) => b.body.startsWith('# sops/bugfix/tests/rework.yaml'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-docs-'));
  fs.cpSync(path.join(root, 'sops', 'bugfix'), path.join(dir, 'sops', 'bugfix'), { recursive: true });
  fs.cpSync(path.join(root, 'examples', 'slugify'), path.join(dir, 'examples', 'slugify'), {
    recursive: true,
  });
  const file = path.join(dir, 'sops', 'bugfix', 'tests', 'docs.yaml');
  fs.writeFileSync(file, String(example?.body));
  const loaded = loadTest('bugfix', file);
  expect(loaded.spec.expect.routes).toHaveLength(6);
  expect(loaded.spec.expect.artifacts).toHaveProperty(['src/slugify.js']);
});
