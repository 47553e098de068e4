import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveInWorkspace } from '../../src/activities/workspace-paths';

const workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-ws-')));
const outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-outside-')));
fs.mkdirSync(path.join(workspace, 'src'));
fs.symlinkSync(outside, path.join(workspace, 'escape'));
fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(workspace, 'src', 'link.txt'));
fs.symlinkSync(path.join(workspace, 'src'), path.join(workspace, 'alias'));

test.each([
  ['src/a.ts', 'src/a.ts'],
  ['.sop/runs/x/work.json', '.sop/runs/x/work.json'],
  ['alias/a.ts', 'alias/a.ts'], // a symlink that stays inside is fine
])('%s resolves inside the workspace', (relative, expected) => {
  expect(resolveInWorkspace(workspace, relative)).toBe(path.join(workspace, expected));
});

test.each([
  ['../outside.txt', /escapes the workspace/],
  ['src/../../outside.txt', /escapes the workspace/],
  ['/etc/passwd', /is absolute/],
  ['escape/secret.txt', /leads outside the workspace through a symlink/],
  ['escape/new/dir/file.txt', /leads outside the workspace through a symlink/],
  ['src/link.txt', /leads outside the workspace through a symlink/],
])('%s is refused', (relative, message) => {
  expect(() => resolveInWorkspace(workspace, relative)).toThrow(message);
});
