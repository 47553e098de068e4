import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseRunRequest } from '../../src/model/run-request';

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
  expect(section).toContain('temporal workflow update execute --workflow-id bugfix/login-500 --name answer');
});
