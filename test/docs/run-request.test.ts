import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseRunRequest } from '../../src/shapes/run-request';
import { codeBlocks, docPages, readPage } from './markdown';

const root = path.join(__dirname, '..', '..');
const page = fs.readFileSync(path.join(root, 'docs', 'client.md'), 'utf8');
const section = page.slice(
  page.indexOf('## The run request: starting a run from any Temporal client'),
  page.indexOf('## The TypeScript client'),
);

test('docs/client.md shows the plain @temporalio/client example as it is in examples/ (the temporal tests run that file)', () => {
  const block = /<!-- plain-client:start[^>]*-->\n```js\n([\s\S]*?)```\n<!-- plain-client:end -->/.exec(
    section,
  );
  expect(block?.[1]).toBe(
    fs.readFileSync(path.join(root, 'examples', 'plain-client', 'start-run.mjs'), 'utf8'),
  );
  const imports = [...String(block?.[1]).matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]);
  expect(imports).toEqual(['@temporalio/client']);
});

test("docs/client.md's run requests (the JSON example and the temporal CLI's --input) are valid", () => {
  const json = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  expect(parseRunRequest(JSON.parse(String(json)))).toHaveProperty('request.sop', 'bugfix');
  const cli = /temporal workflow start [\s\S]*?--input '([^']*)'/.exec(section)?.[1];
  expect(parseRunRequest(JSON.parse(String(cli)))).toHaveProperty('request.repo.path', '/srv/repos/shop');
  expect(section).toContain(
    'temporal workflow update execute --address $A --workflow-id bugfix/login-500 --name answer',
  );
});

test('every temporal CLI command the README and docs/ show names its server (the CLI ignores SOP_TEMPORAL_PORT)', () => {
  const code = docPages()
    .flatMap((p) => codeBlocks(readPage(p)))
    .map((b) => b.body)
    .join('\n');
  // a command with its continuation lines (\ at the end of a line) as one
  const commands = code
    .replace(/\\\n/g, ' ')
    .split('\n')
    .flatMap((line) =>
      [...line.matchAll(/(?<!sop )\btemporal (?!server\b)[a-z][\s\S]*?(?=$|#|;|&&)/g)].map((m) => m[0]),
    );
  expect(commands.length).toBeGreaterThanOrEqual(4);
  expect(commands.filter((c) => !/ --address \S/.test(c))).toEqual([]);
});
