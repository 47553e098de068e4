// What one parallel worklist item's worktree costs in git processes: under load every process costs tens
// of milliseconds, so the count is the cost (issue 27: open + merge of one item <= 150 ms). git is counted
// through a `git` first on PATH that logs each call, git's own child processes too (GIT_EXEC_PATH names it,
// so the `git update-ref` that `git worktree add` starts goes through it as well).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { worktreeActivities } from '../../src/activities/worktrees';

const { openWorktree, mergeWorktree } = worktreeActivities;

function gitIn(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();
}

/** A `git` that logs its arguments to `log` and runs the real one, its children through itself too. */
function countingGit(dir: string, log: string): void {
  const real = path.join(gitIn(os.tmpdir(), '--exec-path'), 'git');
  const shim = path.join(dir, 'git');
  fs.writeFileSync(shim, `#!/bin/sh\necho "$*" >> '${log}'\nGIT_EXEC_PATH='${dir}' exec '${real}' "$@"\n`);
  fs.chmodSync(shim, 0o755);
}

test("one worklist item's worktree, opened and merged, costs at most 12 git processes (it cost 18)", async () => {
  const workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-worktree-count-')));
  gitIn(workspace, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(workspace, 'README.md'), 'a repo\n');
  gitIn(workspace, 'add', '-A');
  gitIn(workspace, 'commit', '-qm', 'first');
  const run = {
    sop: 'count',
    taskId: 't1',
    workspace,
    runFolder: path.join(workspace, '.sop', 'runs', 'count', 't1'),
  };
  // the run's first item snapshots the workspace; the count is for the next ones, as a worklist runs them
  const first = await openWorktree({ run, key: 'item-0', snapshot: true });
  if ('unavailable' in first) throw new Error(first.unavailable);
  fs.writeFileSync(path.join(first.worktree.path, 'out-0.txt'), 'item 0\n');
  const merged0 = await mergeWorktree({ run, worktree: first.worktree, head: first.head });

  const shimDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-git-shim-'));
  const log = path.join(shimDir, 'calls.log');
  countingGit(shimDir, log);
  const pathBefore = process.env.PATH;
  process.env.PATH = `${shimDir}${path.delimiter}${pathBefore}`;
  try {
    const opened = await openWorktree({ run, key: 'item-1', head: merged0.head });
    if ('unavailable' in opened) throw new Error(opened.unavailable);
    fs.writeFileSync(path.join(opened.worktree.path, 'out-1.txt'), 'item 1\n');
    const merged = await mergeWorktree({ run, worktree: opened.worktree, head: opened.head });
    expect(merged).toMatchObject({ merged: true, files: 1 });
  } finally {
    process.env.PATH = pathBefore;
  }
  const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
  // hooks and automatic maintenance never start: no `git maintenance` or `git gc` child
  expect(calls.filter((c) => /(^| )(maintenance|gc) /.test(c))).toEqual([]);
  expect(calls.length).toBeLessThanOrEqual(12);
  // the same result as ever: both items' files in the workspace, the user's HEAD and index untouched,
  // the worktrees and their branches gone
  expect(fs.readFileSync(path.join(workspace, 'out-1.txt'), 'utf8')).toBe('item 1\n');
  expect(fs.readFileSync(path.join(workspace, 'out-0.txt'), 'utf8')).toBe('item 0\n');
  expect(gitIn(workspace, 'log', '--format=%s')).toBe('first');
  expect(gitIn(workspace, 'diff', '--cached', '--name-only')).toBe('');
  expect(gitIn(workspace, 'worktree', 'list', '--porcelain')).not.toContain('.sop/worktrees');
  expect(gitIn(workspace, 'branch', '--list', 'sop/*')).toBe('');
  expect(fs.readdirSync(path.join(workspace, '.git', 'worktrees'))).toEqual([]);
});

test('work done in the workspace between two merges (a same-size edit, a new file) is kept in the merge and its commit', async () => {
  const workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-worktree-between-')));
  gitIn(workspace, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(workspace, 'README.md'), 'a repo\n');
  gitIn(workspace, 'add', '-A');
  gitIn(workspace, 'commit', '-qm', 'first');
  const run = {
    sop: 'between',
    taskId: 't1',
    workspace,
    runFolder: path.join(workspace, '.sop', 'runs', 'between', 't1'),
  };
  let head: string | undefined;
  for (const i of [0, 1, 2]) {
    const opened = await openWorktree({ run, key: `item-${i}`, head, snapshot: head === undefined });
    if ('unavailable' in opened) throw new Error(opened.unavailable);
    fs.writeFileSync(path.join(opened.worktree.path, `out-${i}.txt`), `item ${i}\n`);
    const merged = await mergeWorktree({ run, worktree: opened.worktree, head: opened.head });
    if (!merged.merged) throw new Error(`item ${i} conflicted`);
    head = merged.head;
    // right after the merge, within the same second: what a person or in-place work does to the files
    fs.writeFileSync(path.join(workspace, 'README.md'), `${'abc'[i]} repo\n`);
    fs.writeFileSync(path.join(workspace, `user-${i}.txt`), `user ${i}\n`);
  }
  const tracked = (commit: string) => gitIn(workspace, 'ls-tree', '-r', '--name-only', commit).split('\n');
  // the last merge's commit holds everything written before it, the user's edits included
  expect(tracked(head!)).toEqual(
    ['README.md', 'out-0.txt', 'out-1.txt', 'out-2.txt', 'user-0.txt', 'user-1.txt'].sort(),
  );
  expect(gitIn(workspace, 'show', `${head}:README.md`)).toBe('b repo');
  expect(fs.readFileSync(path.join(workspace, 'README.md'), 'utf8')).toBe('c repo\n');
  expect(fs.readFileSync(path.join(workspace, 'out-2.txt'), 'utf8')).toBe('item 2\n');
});
