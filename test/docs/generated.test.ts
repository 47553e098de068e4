import * as fs from 'node:fs';
import * as path from 'node:path';
import { GENERATED, generatedSection } from '../../src/generated-docs';
import { root } from './markdown';

test.each(GENERATED.map((part) => [part.file, part.marker, part]))(
  '%s: the %s table is the one the code defines (npm run docs regenerates it)',
  (file, _marker, part) => {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    const section = generatedSection(text, part.marker);
    expect(section).toBeDefined();
    expect(section?.trim()).toBe(part.generate());
  },
);

test('a stale table is found: the section differs from what the code generates', () => {
  const [part] = GENERATED;
  const text = fs.readFileSync(path.join(root, part.file), 'utf8');
  const stale = text.replace(/\| SOP202 \|[^\n]*\n/, '');
  expect(generatedSection(stale, part.marker)?.trim()).not.toBe(part.generate());
});
