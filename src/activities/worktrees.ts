// Parallel work in isolated git worktrees: a worklist item run with concurrency > 1, or a step of a
// parallel `after:` branch, works in a worktree of its own under `<workspace>/.sop/worktrees/` (git-ignored,
// owned by the runtime), branched from the run's current commit: a snapshot of the workspace (tracked and
// untracked files, `.sop/` left out) committed without touching the user's branch, index or HEAD. An
// accepted item is merged back with a three-way merge (`git merge-tree`) against the workspace as it is
// now, and the result is applied to the workspace's files; a conflict leaves the item's worktree merged
// with the run's state, conflict markers in the files, for the producer's rework.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import type {
  MergeWorktreeRequest,
  MergeWorktreeResult,
  OpenWorktreeRequest,
  OpenWorktreeResult,
  RunRef,
  Worktree,
} from '../shapes/contract';
import { refSafe } from '../shapes/workspace';

/** workspace-relative folder of every run's worktrees */
export const WORKTREES_FOLDER = path.join('.sop', 'worktrees');
/** what a snapshot or a worktree commit leaves out: the runtime's own folder */
const NOT_THE_RUNTIMES = ['--', '.', ':(exclude).sop'];
const IDENTITY = {
  GIT_AUTHOR_NAME: 'SOP Runtime',
  GIT_AUTHOR_EMAIL: 'sop-runtime@localhost',
  GIT_COMMITTER_NAME: 'SOP Runtime',
  GIT_COMMITTER_EMAIL: 'sop-runtime@localhost',
};

/** git without the user's hooks (a commit must not run code of the repository) and without a pager. */
async function git(
  cwd: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
) {
  return execa('git', ['-c', 'core.hooksPath=/dev/null', '-c', 'core.pager=cat', ...args], {
    cwd,
    env: { ...IDENTITY, GIT_TERMINAL_PROMPT: '0', ...options.env },
    input: options.input,
    reject: false,
    stripFinalNewline: true,
  });
}

async function gitOk(
  cwd: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
) {
  const result = await git(cwd, args, options);
  if (result.exitCode !== 0) {
    throw new Error(
      `git ${args.join(' ')} (in ${cwd}) exited ${result.exitCode}: ${String(result.stderr).trim()}`,
    );
  }
  return String(result.stdout);
}

/** Why the workspace cannot have worktrees, or undefined when it is the top of a git repository. */
async function notARepository(workspace: string): Promise<string | undefined> {
  const top = await git(workspace, ['rev-parse', '--show-toplevel']);
  if (top.exitCode !== 0) return `the workspace ${workspace} is not a git repository`;
  if (fs.realpathSync(String(top.stdout).trim()) !== fs.realpathSync(workspace))
    return `the workspace ${workspace} is not the top folder of its git repository (${String(top.stdout).trim()})`;
  return undefined;
}

/**
 * A commit of the workspace's files as they are (tracked and untracked, ignored ones and `.sop/` left
 * out) whose parent is `parent` (the run's last commit, else HEAD); `parent` itself when nothing changed.
 * A temporary index: the user's index, HEAD and branches are untouched.
 */
async function snapshotCommit(workspace: string, parent: string | undefined, message: string) {
  const base =
    parent ?? ((await git(workspace, ['rev-parse', '--verify', '-q', 'HEAD'])).stdout.trim() || undefined);
  const scratch = path.join(workspace, WORKTREES_FOLDER);
  fs.mkdirSync(scratch, { recursive: true });
  ignoreEverything(scratch);
  const env = { GIT_INDEX_FILE: path.join(scratch, `.index-${process.pid}-${Date.now()}`) };
  try {
    await gitOk(workspace, base ? ['read-tree', base] : ['read-tree', '--empty'], { env });
    await gitOk(workspace, ['add', '-A', ...NOT_THE_RUNTIMES], { env });
    const tree = (await gitOk(workspace, ['write-tree'], { env })).trim();
    if (base && (await gitOk(workspace, ['rev-parse', `${base}^{tree}`])).trim() === tree) return base;
    return (
      await gitOk(workspace, ['commit-tree', tree, ...(base ? ['-p', base] : []), '-m', message])
    ).trim();
  } finally {
    fs.rmSync(env.GIT_INDEX_FILE, { force: true });
  }
}

/** `.sop/worktrees/.gitignore` = `*`: git status in the workspace never shows the worktrees. */
function ignoreEverything(folder: string): void {
  const file = path.join(folder, '.gitignore');
  if (!fs.existsSync(file)) fs.writeFileSync(file, '*\n');
}

function worktreeOf(run: RunRef, key: string): { path: string; branch: string } {
  return {
    path: path.join(run.workspace, WORKTREES_FOLDER, refSafe(run.sop), refSafe(run.taskId), refSafe(key)),
    branch: `sop/${refSafe(run.sop)}/${refSafe(run.taskId)}--${refSafe(key)}`,
  };
}

async function removeWorktree(workspace: string, where: { path: string; branch: string }): Promise<void> {
  await git(workspace, ['worktree', 'remove', '--force', where.path]);
  fs.rmSync(where.path, { recursive: true, force: true });
  await git(workspace, ['branch', '-D', where.branch]);
}

/** The run folder's files (artifacts, the worklist; not the execution folders) copied into the worktree. */
function seedRunFolder(run: RunRef, worktreePath: string): void {
  const relative = path.relative(run.workspace, run.runFolder);
  if (relative.startsWith('..') || path.isAbsolute(relative) || !fs.existsSync(run.runFolder)) return;
  const steps = path.join(run.runFolder, 'steps');
  fs.cpSync(run.runFolder, path.join(worktreePath, relative), {
    recursive: true,
    filter: (source) => source !== steps,
  });
}

async function openWorktree(request: OpenWorktreeRequest): Promise<OpenWorktreeResult> {
  const { run } = request;
  let base = request.head;
  if (request.snapshot || !base) {
    const unavailable = await notARepository(run.workspace);
    if (unavailable) return { unavailable };
    base = await snapshotCommit(
      run.workspace,
      base,
      `sop: ${run.sop}/${run.taskId} workspace before ${request.key}`,
    );
  }
  const where = worktreeOf(run, request.key);
  // an earlier attempt of this activity, or a rerun of the task, may have left one
  if (fs.existsSync(where.path)) await removeWorktree(run.workspace, where);
  fs.mkdirSync(path.dirname(where.path), { recursive: true });
  const add = ['worktree', 'add', '--quiet', '-B', where.branch, where.path, base];
  if ((await git(run.workspace, add)).exitCode !== 0) {
    // a worktree folder deleted by hand is still registered until pruned
    await git(run.workspace, ['worktree', 'prune']);
    await gitOk(run.workspace, add);
  }
  seedRunFolder(run, where.path);
  return { worktree: { ...where, base }, head: base };
}

/** Commits what the worktree holds (concluding a merge the producer resolved); returns its HEAD. */
async function commitWorktree(worktree: Worktree, message: string): Promise<string> {
  await gitOk(worktree.path, ['add', '-A', ...NOT_THE_RUNTIMES]);
  // one commit attempt (it concludes a merge in progress too); it fails when nothing is staged
  const committed = await git(worktree.path, ['commit', '--quiet', '--no-verify', '-m', message]);
  if (committed.exitCode !== 0) {
    const merging = (await git(worktree.path, ['rev-parse', '--verify', '-q', 'MERGE_HEAD'])).exitCode === 0;
    const staged = (await git(worktree.path, ['diff', '--cached', '--quiet'])).exitCode !== 0;
    if (staged || merging)
      throw new Error(
        `git commit (in ${worktree.path}) exited ${committed.exitCode}: ${String(committed.stderr || committed.stdout).trim()}`,
      );
  }
  return (await gitOk(worktree.path, ['rev-parse', 'HEAD'])).trim();
}

async function mergeWorktree(request: MergeWorktreeRequest): Promise<MergeWorktreeResult> {
  const { run, worktree } = request;
  if (!fs.existsSync(worktree.path)) {
    throw ApplicationFailure.create({
      type: 'SopWorktreeError',
      nonRetryable: true,
      message: `the worktree ${worktree.path} (branch ${worktree.branch}) is gone: nothing to merge`,
    });
  }
  const work = await commitWorktree(worktree, `sop: ${run.sop}/${run.taskId} ${worktree.branch}`);
  const current = await snapshotCommit(
    run.workspace,
    request.head,
    `sop: ${run.sop}/${run.taskId} workspace before merging ${worktree.branch}`,
  );
  const merge = await git(run.workspace, [
    'merge-tree',
    '--write-tree',
    '--name-only',
    '--no-messages',
    current,
    work,
  ]);
  const lines = String(merge.stdout).split('\n');
  if (merge.exitCode === 1) {
    const conflicts = [...new Set(lines.slice(1).filter((l) => l.trim() !== ''))];
    // the producer resolves them in its worktree: its work merged with the run's state, with markers
    await git(worktree.path, ['merge', '--no-ff', '--no-commit', '--quiet', current]);
    return { merged: false, head: current, conflicts };
  }
  if (merge.exitCode !== 0) {
    throw new Error(
      `git merge-tree ${current} ${work} exited ${merge.exitCode}: ${String(merge.stderr).trim()}`,
    );
  }
  const tree = lines[0].trim();
  const patch = await gitOk(run.workspace, ['diff', '--binary', '--full-index', current, tree]);
  // one `diff --git` header per file
  const changed = patch.split('\n').filter((l) => l.startsWith('diff --git '));
  if (changed.length > 0)
    await gitOk(run.workspace, ['apply', '--binary', '--whitespace=nowarn'], { input: `${patch}\n` });
  const commit = (
    await gitOk(run.workspace, [
      'commit-tree',
      tree,
      '-p',
      current,
      '-p',
      work,
      '-m',
      `sop: ${run.sop}/${run.taskId} merge ${worktree.branch}`,
    ])
  ).trim();
  if (!request.keep) await removeWorktree(run.workspace, worktree);
  return { merged: true, head: commit, commit: work, files: changed.length };
}

export const worktreeActivities = { openWorktree, mergeWorktree };
