import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blockedInOutput, type DenialContext } from '../../src/harnesses/denials';

// The output scan both harness parsers share, on error lines of common tools (the harness tests in
// adapters.e2e.test.ts cover what the real binaries print).
const workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-denials-')));
fs.mkdirSync(path.join(workspace, 'secret'));
fs.writeFileSync(path.join(workspace, 'secret', 'k.txt'), 'k');
const ctx: DenialContext = { workspace, policy: { sandbox: 'workspace-write', deny_read: ['secret/'] } };
const targets = (output: string, c = ctx) => blockedInOutput(output, c).map((d) => [d.source, d.target]);

test('EACCES, EPERM and EROFS lines name the path they were about', () => {
  expect(
    targets(
      [
        "touch: cannot touch 'a.txt': Read-only file system",
        'mkdir: cannot create directory ‘d’: Permission denied',
        "Error: EACCES: permission denied, open '/w/x.json'",
        "PermissionError: [Errno 13] Permission denied: 'p.py'",
        'error: could not lock config file .git/config: Operation not permitted',
        'all 4 tests passed',
      ].join('\n'),
    ),
  ).toEqual([
    ['sandbox', 'a.txt'],
    ['sandbox', 'd'],
    ['sandbox', '/w/x.json'],
    ['sandbox', 'p.py'],
    ['sandbox', '.git/config'],
  ]);
});

test('a missing file is a denial only when deny_read hides a file that exists', () => {
  const output =
    'cat: secret/k.txt: No such file or directory\ncat: secret/gone.txt: No such file or directory\ncat: src/x: No such file or directory';
  expect(targets(output)).toEqual([['sandbox', 'secret/k.txt']]);
});

test('a failed name lookup is a network denial only when the policy closes the network', () => {
  const output = 'curl: (6) Could not resolve host: example.com';
  expect(targets(output)).toEqual([['network', 'example.com']]);
  expect(targets(output, { ...ctx, policy: { ...ctx.policy, network: 'open' } })).toEqual([]);
});

test("Claude's <sandbox_violations> block is the record where it exists: only its entries count", () => {
  const output = [
    'curl: (56) CONNECT tunnel failed, response 403',
    "touch: cannot touch 'x': Operation not permitted",
    '<sandbox_violations>',
    'deny network-outbound example.com:80 (host is not on the allow list)',
    '</sandbox_violations>',
  ].join('\n');
  expect(targets(output)).toEqual([['network', 'example.com:80']]);
  // a line that merely looks like an entry, outside a block, is no report of the sandbox
  expect(targets('deny file-write /srv/app/cache')).toEqual([]);
});

test('error lines a command prints from a workspace file it names are text, not denials', () => {
  fs.mkdirSync(path.join(workspace, 'notes'), { recursive: true });
  fs.writeFileSync(
    path.join(workspace, 'notes', 'errors.md'),
    "cp: cannot create regular file 'dist/app.js': Permission denied\ncurl: (6) Could not resolve host: x.org\n",
  );
  const output =
    "cp: cannot create regular file 'dist/app.js': Permission denied\ncurl: (6) Could not resolve host: x.org\ncat: secret/k.txt: Permission denied";
  expect(blockedInOutput(output, ctx, 'cat notes/errors.md; cat secret/k.txt').map((d) => d.target)).toEqual([
    'secret/k.txt',
  ]);
  // the same lines from a command that names no such file are what they say
  expect(blockedInOutput(output, ctx, 'make deploy')).toHaveLength(3);
});
