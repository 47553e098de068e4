import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createActivities } from '../../src/activities';
import {
  auditWrites,
  changedFiles,
  headRef,
  type Snapshot,
  snapshotWorkspace,
  walkBelowDefault,
} from '../../src/activities/write-audit';
import type { Policy } from '../../src/shapes/policy';

const RUN = '.sop/runs/s/t';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A committed repository with these files (and a dirty and an untracked file, as a user's often has). */
function repo(files: Record<string, string> = {}): string {
  const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-audit-git-')));
  git(ws, 'init', '-q', '-b', 'work');
  write(ws, {
    '.gitignore': 'dist/\n*.log\nnode_modules/\n',
    'src/a.txt': 'a\n',
    'src/b.txt': 'b\n',
    'src/c.sh': 'echo c\n',
    'dirty.txt': 'committed\n',
    ...files,
  });
  git(ws, 'add', '-A');
  git(ws, 'commit', '-qm', 'first');
  write(ws, { 'dirty.txt': 'changed before the execution\n', 'untracked.txt': 'u\n' });
  return ws;
}

function write(ws: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(ws, name)), { recursive: true });
    fs.writeFileSync(path.join(ws, name), text);
  }
}

/** file times tick coarsely on some kernels; a harness starts long after the snapshot, so wait a tick */
const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

/**
 * Snapshots by git status and by the full walk around `act`, with `policy`: the files each saw written and
 * the git audit's record.
 */
async function audit(
  ws: string,
  act: () => void,
  policy: Policy = { sandbox: 'workspace-write' },
  walkBelow = 0, // these repositories are small: ask git anyway
) {
  const before = snapshotWorkspace(ws, RUN, { policy, walkBelow });
  const walkedBefore = snapshotWorkspace(ws, RUN, { walk: true });
  const branch = headRef(ws);
  await tick();
  act();
  const walkedAfter = snapshotWorkspace(ws, RUN, { walk: true });
  const after: Snapshot = snapshotWorkspace(ws, RUN, { policy, since: before });
  return {
    changed: changedFiles(before, after),
    walked: changedFiles(walkedBefore, walkedAfter),
    audit: auditWrites(before, after, policy, RUN, branch),
  };
}

describe('write audit through git status', () => {
  test('edits, new files, deletions, renames and chmod +x are caught as the full walk catches them; untouched dirty and untracked files are not', async () => {
    const ws = repo();
    const {
      changed,
      walked,
      audit: result,
    } = await audit(ws, () => {
      write(ws, { 'src/a.txt': 'a, edited\n', 'src/new.txt': 'new\n', 'untracked.txt': 'u2\n' });
      fs.unlinkSync(path.join(ws, 'src/b.txt'));
      fs.renameSync(path.join(ws, 'dirty.txt'), path.join(ws, 'moved.txt'));
      fs.chmodSync(path.join(ws, 'src/c.sh'), 0o755);
      fs.mkdirSync(path.join(ws, RUN), { recursive: true });
      fs.writeFileSync(path.join(ws, RUN, 'evidence.json'), '{}'); // the runtime's own folder
    });
    const expected = [
      'dirty.txt',
      'moved.txt',
      'src/a.txt',
      'src/b.txt',
      'src/c.sh',
      'src/new.txt',
      'untracked.txt',
    ];
    expect(changed).toEqual(expected);
    expect(walked).toEqual(expected);
    expect(result.record.method).toBe('git');
    expect(result.record.files).toEqual({ count: expected.length, paths: expected });
    expect(result.violations).toEqual([]);
  });

  test('a write that restores identical content is no change; a rewrite that keeps size and restores mtime is', async () => {
    const ws = repo();
    const then = new Date('2020-01-01T00:00:00Z');
    fs.utimesSync(path.join(ws, 'src/b.txt'), then, then);
    // git (as built here) compares ctime to the second: the file's last change lies before this execution's
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const { changed } = await audit(ws, () => {
      write(ws, { 'src/a.txt': 'edited\n' });
      write(ws, { 'src/a.txt': 'a\n' }); // back to what HEAD has
      write(ws, { 'src/b.txt': 'B\n' }); // same size
      fs.utimesSync(path.join(ws, 'src/b.txt'), then, then);
    });
    expect(changed).toEqual(['src/b.txt']);
  });

  test('writes to ignored files are caught where the policy judges them and named as unscanned where it does not', async () => {
    const ws = repo({});
    write(ws, { 'dist/old.js': 'old\n', 'dist/keep.js': 'keep\n', 'node_modules/x/i.js': 'x\n' });
    const act = () => {
      write(ws, { 'dist/old.js': 'new\n', 'build.log': 'log\n', 'node_modules/x/i.js': 'y\n' });
      fs.unlinkSync(path.join(ws, 'dist/keep.js'));
    };
    const readOnly = await audit(ws, act, { sandbox: 'read-only' });
    expect(readOnly.changed).toEqual(['build.log', 'dist/keep.js', 'dist/old.js']);
    expect(readOnly.walked).toEqual([...readOnly.changed, 'node_modules/x/i.js']);
    expect(readOnly.audit.violations).toEqual([
      'build.log was written by a read-only step',
      'dist/keep.js was written by a read-only step',
      'dist/old.js was written by a read-only step',
    ]);
    // node_modules/ is never judged, so not scanned: the record says so instead of claiming no writes there
    expect(readOnly.audit.record.unscanned).toEqual(['node_modules/']);

    const allowDist = await audit(ws, () => write(ws, { 'dist/old.js': 'newer\n', 'build.log': 'more\n' }), {
      sandbox: 'workspace-write',
      allow_write: ['dist/'],
    });
    expect(allowDist.audit.violations).toEqual(['build.log is outside allow_write (dist/)']);
    expect(allowDist.audit.record.unscanned).toEqual(expect.arrayContaining(['dist/', 'node_modules/']));

    const denyDist = await audit(ws, () => write(ws, { 'dist/old.js': 'newest\n' }), {
      sandbox: 'workspace-write',
      deny_write: ['dist/**'],
    });
    expect(denyDist.audit.violations).toEqual(['dist/old.js is under deny_write']);

    const free = await audit(ws, () => write(ws, { 'dist/old.js': 'again\n' }));
    expect(free.changed).toEqual([]);
    expect(free.audit.record.unscanned).toEqual(['(ignored files: the policy judges none)']);
  });

  test('a new ignored folder is walked after the execution', async () => {
    const ws = repo();
    const { changed, walked } = await audit(ws, () => write(ws, { 'dist/a/b.js': 'b\n' }), {
      sandbox: 'read-only',
    });
    expect(changed).toEqual(['dist/a/b.js']);
    expect(walked).toEqual(changed);
  });

  test('files in untracked folders are judged file by file: new ones caught, untouched ones not, the run folder left out, at any number of folders', async () => {
    const ws = repo({ 'src/keep.txt': 'k\n' });
    write(ws, { 'notes/old.txt': 'untracked before\n', 'notes/deep/old.txt': 'too\n' });
    const { changed, walked } = await audit(ws, () => {
      write(ws, { 'notes/deep/new.txt': 'n\n', 'fresh/a/b.txt': 'b\n', 'src/gen/out.txt': 'o\n' });
      write(ws, { 'we*ird [dir]/x.txt': 'x\n', 'fresh/skip.log': 'ignored\n' });
      fs.mkdirSync(path.join(ws, 'fresh/repo'), { recursive: true });
      git(path.join(ws, 'fresh/repo'), 'init', '-q');
      write(ws, { [`${RUN}/evidence.json`]: '{}' });
    });
    const expected = [
      'fresh/a/b.txt',
      ...walked.filter((f) => f.startsWith('fresh/repo/.git/')),
      'notes/deep/new.txt',
      'src/gen/out.txt',
      'we*ird [dir]/x.txt',
    ];
    expect(walked.filter((f) => f.startsWith('fresh/repo/.git/')).length).toBeGreaterThan(0);
    expect(changed).toEqual(expected.sort());
    // more new folders than are asked one by one: one status lists them all
    const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`many/f${i}/x.txt`, `${i}\n`]));
    const wide = await audit(ws, () => write(ws, { ...many, 'top/x.txt': 'x\n' }));
    expect(wide.changed).toEqual([...Object.keys(many), 'top/x.txt'].sort());
    expect(wide.walked).toEqual(wide.changed);
  });

  test('.git/hooks, .git/config and other refs are caught; a commit on the branch is not a violation but its files are written', async () => {
    const ws = repo();
    const {
      changed,
      walked,
      audit: result,
    } = await audit(ws, () => {
      write(ws, { '.git/hooks/pre-commit': 'echo pwned\n', 'src/a.txt': 'committed change\n' });
      git(ws, 'add', 'src/a.txt');
      git(ws, 'commit', '-qm', 'change');
      git(ws, 'tag', 'v9');
      git(ws, 'config', 'core.fsmonitor', 'touch pwned');
    });
    expect(changed).toEqual(walked);
    expect(changed).toEqual(expect.arrayContaining(['src/a.txt', '.git/hooks/pre-commit', '.git/config']));
    expect(result.violations.map((v) => v.split(' ')[0])).toEqual([
      '.git/config',
      '.git/hooks/pre-commit',
      '.git/refs/tags/v9',
    ]);
    expect(fs.existsSync(path.join(ws, 'pwned'))).toBe(false); // the audit's git status ran no fsmonitor
  });

  test('index-only work (unstaging, a soft reset) writes no file; a file hidden with assume-unchanged is still caught', async () => {
    const ws = repo();
    git(ws, 'add', 'dirty.txt');
    git(ws, 'commit', '-qm', 'second');
    const { changed, walked } = await audit(ws, () => {
      git(ws, 'rm', '-q', '--cached', 'src/b.txt');
      git(ws, 'reset', '-q', '--soft', 'HEAD~1');
      git(ws, 'update-index', '--assume-unchanged', 'src/a.txt');
      write(ws, { 'src/a.txt': 'hidden write\n' });
    });
    expect(walked.filter((f) => !f.startsWith('.git/'))).toEqual(['src/a.txt']);
    expect(changed.filter((f) => !f.startsWith('.git/'))).toEqual(['src/a.txt']);
  });

  test('a sparse checkout: skip-worktree files absent before and after are no deletion; a file written at such a path is caught', async () => {
    const ws = repo();
    git(ws, 'update-index', '--skip-worktree', 'src/b.txt', 'src/c.sh');
    fs.unlinkSync(path.join(ws, 'src/b.txt'));
    fs.unlinkSync(path.join(ws, 'src/c.sh'));
    const { changed, walked } = await audit(ws, () => write(ws, { 'src/b.txt': 'written anyway\n' }));
    expect(changed).toEqual(['src/b.txt']);
    expect(walked).toEqual(changed);
  });

  test('nested repositories and submodules are audited file by file, their .git too', async () => {
    const ws = repo();
    const nested = path.join(ws, 'vendor/lib');
    fs.mkdirSync(nested, { recursive: true });
    git(nested, 'init', '-q');
    write(nested, { 'lib.js': 'lib\n' });
    git(nested, 'add', '-A');
    git(nested, 'commit', '-qm', 'lib');
    git(ws, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', nested, 'sub');
    git(ws, 'commit', '-qm', 'submodule');
    const { changed, walked } = await audit(ws, () => {
      write(ws, { 'vendor/lib/lib.js': 'changed\n', 'vendor/lib/.git/hooks/post-checkout': 'x\n' });
      write(ws, { 'sub/lib.js': 'changed too\n' });
    });
    expect(changed).toEqual(['sub/lib.js', 'vendor/lib/.git/hooks/post-checkout', 'vendor/lib/lib.js']);
    expect(walked).toEqual(changed);
  });

  test('a linked worktree is audited through git; its .git file is watched', async () => {
    const main = repo();
    const ws = path.join(main, '.sop', 'worktrees', 'item');
    git(main, 'worktree', 'add', '-q', '-b', 'item', ws);
    const {
      changed,
      walked,
      audit: result,
    } = await audit(ws, () => {
      write(ws, { 'src/a.txt': 'in the worktree\n', 'new.txt': 'n\n' });
      fs.unlinkSync(path.join(ws, 'src/b.txt'));
    });
    expect(result.record.method).toBe('git');
    expect(changed).toEqual(['new.txt', 'src/a.txt', 'src/b.txt']);
    expect(walked).toEqual(changed);
  });

  test('when git cannot read the repository after the execution, the walk judges by ctime and the record says so', async () => {
    const ws = repo();
    const { changed, audit: result } = await audit(ws, () => {
      write(ws, { 'src/a.txt': 'written\n', 'src/new.txt': 'n\n', '.git/index': 'not an index' });
    });
    expect(changed).toEqual(['.git/index', 'src/a.txt', 'src/new.txt']);
    expect(result.record.method).toBe('walk');
    expect(result.record.fallback).toMatch(/^git could not be asked: .*deleted tracked files are not seen/);
  });

  test('a small repository is walked (cheaper than git status), catches the same writes, and the record says why', async () => {
    const ws = repo();
    const {
      changed,
      walked,
      audit: result,
    } = await audit(
      ws,
      () => {
        write(ws, { 'src/a.txt': 'changed\n', 'new.txt': 'n\n' });
        fs.unlinkSync(path.join(ws, 'src/b.txt'));
      },
      { sandbox: 'workspace-write' },
      1_000,
    );
    expect(result.record.method).toBe('walk');
    expect(result.record.fallback).toMatch(/^a small workspace \(\d+ files, fewer than 1000\)/);
    expect(changed).toEqual(walked);
    expect(changed).toEqual(expect.arrayContaining(['new.txt', 'src/a.txt', 'src/b.txt']));
  });

  test('a repository with more files than the bound is asked through git; a bad SOP_AUDIT_WALK_BELOW is refused by name', async () => {
    const ws = repo();
    const { audit: result } = await audit(ws, () => write(ws, { 'new.txt': 'n\n' }), undefined, 3);
    expect(result.record.method).toBe('git');
    expect(walkBelowDefault({})).toBe(1_000);
    expect(walkBelowDefault({ SOP_AUDIT_WALK_BELOW: '0' })).toBe(0);
    expect(() => walkBelowDefault({ SOP_AUDIT_WALK_BELOW: 'lots' })).toThrow(
      'SOP_AUDIT_WALK_BELOW must be a whole number of files (0: always git status), not "lots"',
    );
  });

  test('a worker with a bad SOP_AUDIT_WALK_BELOW refuses to start, naming the variable', () => {
    process.env.SOP_AUDIT_WALK_BELOW = '-1';
    try {
      expect(() => createActivities({ runners: {} })).toThrow(/^SOP_AUDIT_WALK_BELOW must be a whole number/);
    } finally {
      delete process.env.SOP_AUDIT_WALK_BELOW;
    }
  });

  test('a workspace that is not a git repository is walked, and the record says why', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-audit-plain-'));
    write(ws, { 'a.txt': 'a\n' });
    const { changed, audit: result } = await audit(ws, () => write(ws, { 'a.txt': 'a\n', 'b.txt': 'b\n' }));
    expect(changed).toEqual(['a.txt', 'b.txt']); // the walk counts every write, even of the same content
    expect(result.record.method).toBe('walk');
    expect(result.record.fallback).toMatch(/not a git repository/);
  });
});
