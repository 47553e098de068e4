import * as fs from 'node:fs';
import * as path from 'node:path';
import { diagnosticTable } from '../../src/sop/diagnostics';

test('the README error-code table is the one the code defines (npm run docs regenerates it)', () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = /<!-- error-codes:start[^>]*-->\n([\s\S]*?)<!-- error-codes:end -->/.exec(readme);
  expect(section?.[1].trim()).toBe(diagnosticTable());
});

test('the README capability table is the one the code defines', () => {
  const { capabilityTable } = require('../../src/policies/capabilities');
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = /<!-- capabilities:start[^>]*-->\n([\s\S]*?)<!-- capabilities:end -->/.exec(readme);
  expect(section?.[1].trim()).toBe(capabilityTable());
});
