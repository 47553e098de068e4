// Parallel work in isolated git worktrees: a worklist item run with concurrency > 1, or a step of a
// parallel `after:` branch, works in a worktree of its own under `<workspace>/.sop/worktrees/` (git-ignored,
// owned by the runtime), branched from the run's current commit: a snapshot of the workspace (tracked and
// untracked files, `.sop/` left out) committed without touching the user's branch, index or HEAD. An
// accepted item is merged back with a three-way merge (`git merge-tree`) against the workspace as it is
// now, and the result is applied to the workspace's files; a conflict leaves the item's worktree merged
// with the run's state, conflict markers in the files, for the producer's rework.
//
// Each item costs few git processes (a parallel worklist opens and merges one worktree per item; under load
// every process costs tens of milliseconds; test/activities/worktrees.test.ts counts them): the worktree is
// added without a checkout and checked out on its branch in one go, hooks and automatic maintenance never
// run, a worktree is removed by deleting its folders (what `git worktree prune` does for a deleted one), and
// the scratch index a snapshot of the workspace is made in is kept for the commit it ended at, so the next
// snapshot needs no `read-tree` and `git add` compares stat info instead of hashing every file again.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
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
/**
 * No hooks (a commit must not run code of the repository), no pager, no automatic gc or maintenance (a
 * `git commit` would start one more process); stat checks as the write audit pins them, since a kept
 * scratch index trusts stat info: ctime too, no fsmonitor.
 */
const PINNED = [
  ['core.hooksPath', '/dev/null'],
  ['core.pager', 'cat'],
  ['maintenance.auto', 'false'],
  ['gc.auto', '0'],
  ['core.fsmonitor', 'false'],
  ['core.trustctime', 'true'],
  ['core.checkStat', 'default'],
  ['core.ignoreStat', 'false'],
].flatMap(([name, value]) => ['-c', `${name}=${value}`]);

interface GitResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** git with the settings above; never rejects on an exit code (child_process: cheaper than execa). */
function git(
  cwd: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      [...PINNED, ...args],
      {
        cwd,
        env: { ...process.env, ...IDENTITY, GIT_TERMINAL_PROMPT: '0', ...options.env },
        encoding: 'utf8',
        maxBuffer: 1 << 30,
      },
      (err, stdout, stderr) => {
        const code = (err as { code?: unknown } | null)?.code;
        if (err && typeof code !== 'number' && !(err as { signal?: unknown }).signal) return reject(err);
        resolve({
          exitCode: err ? (typeof code === 'number' ? code : 128) : 0,
          stdout: stdout.replace(/\n$/, ''),
          stderr,
        });
      },
    );
    // a git that exits without reading its input (it failed) closes the pipe: not this call's error
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input);
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

/** A snapshot of the workspace: its commit and tree, and the scratch index that holds that tree. */
interface WorkspaceCommit {
  commit: string;
  tree: string;
  index: string;
}

/** How many kept scratch indexes a workspace keeps (one per run working in it at once is enough). */
const INDEXES_KEPT = 4;
let scratchCount = 0;

/** `.sop/worktrees/`, made and git-ignored: scratch indexes and every run's worktrees. */
function scratchFolder(workspace: string): string {
  const scratch = path.join(workspace, WORKTREES_FOLDER);
  fs.mkdirSync(scratch, { recursive: true });
  ignoreEverything(scratch);
  return scratch;
}

/**
 * Takes the scratch index kept for `commit` (renamed to a name of this call's own, so no other call uses
 * it meanwhile; the rename keeps its mtime, which git's racy-entry check reads); undefined when none.
 */
function takeIndex(scratch: string, commit: string): { index: string; tree: string } | undefined {
  const name = fs.readdirSync(scratch).find((n) => n.startsWith(`.index@${commit}@`));
  if (!name) return undefined;
  const index = path.join(scratch, `.index-${process.pid}-${Date.now()}-${++scratchCount}`);
  try {
    fs.renameSync(path.join(scratch, name), index);
  } catch {
    return undefined; // another call took it
  }
  return { index, tree: name.slice(`.index@${commit}@`.length) };
}

/** Keeps the scratch index of a snapshot or merge for the next one (the newest few per workspace). */
function keepIndex(scratch: string, index: string, commit: string, tree: string): void {
  fs.renameSync(index, path.join(scratch, `.index@${commit}@${tree}`));
  const kept = fs
    .readdirSync(scratch)
    .filter((n) => n.startsWith('.index@'))
    .map((n) => ({ n, at: fs.statSync(path.join(scratch, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.at - a.at);
  for (const { n } of kept.slice(INDEXES_KEPT)) fs.rmSync(path.join(scratch, n), { force: true });
}

/**
 * A commit of the workspace's files as they are (tracked and untracked, ignored ones and `.sop/` left
 * out) whose parent is `parent` (the run's last commit, else HEAD); `parent` itself when nothing changed.
 * A scratch index (the one kept for `parent`, else one read from it): the user's index, HEAD and branches
 * are untouched. The caller keeps or removes the returned index.
 */
async function snapshotCommit(
  workspace: string,
  parent: string | undefined,
  message: string,
): Promise<WorkspaceCommit> {
  const base =
    parent ?? ((await git(workspace, ['rev-parse', '--verify', '-q', 'HEAD'])).stdout.trim() || undefined);
  const scratch = scratchFolder(workspace);
  const taken = base ? takeIndex(scratch, base) : undefined;
  const index = taken?.index ?? path.join(scratch, `.index-${process.pid}-${Date.now()}-${++scratchCount}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    if (!taken) await gitOk(workspace, base ? ['read-tree', base] : ['read-tree', '--empty'], { env });
    await gitOk(workspace, ['add', '-A', ...NOT_THE_RUNTIMES], { env });
    const tree = (await gitOk(workspace, ['write-tree'], { env })).trim();
    const baseTree =
      base && (taken?.tree ?? (await gitOk(workspace, ['rev-parse', `${base}^{tree}`])).trim());
    if (base && baseTree === tree) return { commit: base, tree, index };
    const commit = (
      await gitOk(workspace, ['commit-tree', tree, ...(base ? ['-p', base] : []), '-m', message])
    ).trim();
    return { commit, tree, index };
  } catch (err) {
    fs.rmSync(index, { force: true });
    throw err;
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

/** A linked worktree's administrative folder (`<git dir>/worktrees/<id>`), when its `.git` file names one. */
function adminFolderOf(worktreePath: string): string | undefined {
  let dotGit: string;
  try {
    dotGit = fs.readFileSync(path.join(worktreePath, '.git'), 'utf8');
  } catch {
    return undefined;
  }
  const admin = /^gitdir: (.+)$/m.exec(dotGit)?.[1]?.trim();
  if (!admin || path.basename(path.dirname(admin)) !== 'worktrees') return undefined;
  try {
    // it points back at this worktree: it is this worktree's own
    const back = fs.readFileSync(path.join(admin, 'gitdir'), 'utf8').trim();
    return path.resolve(back) === path.resolve(worktreePath, '.git') ? admin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the worktree and its branch: its folder and its administrative folder are deleted (what `git
 * worktree remove --force` does; `git worktree prune` when the worktree's `.git` names none), then the branch.
 */
async function removeWorktree(workspace: string, where: { path: string; branch: string }): Promise<void> {
  const admin = adminFolderOf(where.path);
  fs.rmSync(where.path, { recursive: true, force: true });
  if (admin) fs.rmSync(admin, { recursive: true, force: true });
  else await git(workspace, ['worktree', 'prune']);
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
    const snapshot = await snapshotCommit(
      run.workspace,
      base,
      `sop: ${run.sop}/${run.taskId} workspace before ${request.key}`,
    );
    keepIndex(scratchFolder(run.workspace), snapshot.index, snapshot.commit, snapshot.tree);
    base = snapshot.commit;
  }
  const where = worktreeOf(run, request.key);
  // an earlier attempt of this activity, or a rerun of the task, may have left one
  if (fs.existsSync(where.path)) await removeWorktree(run.workspace, where);
  fs.mkdirSync(path.dirname(where.path), { recursive: true });
  // what `worktree add -B` does in four processes: added detached without a checkout, then checked out
  // on its branch (made or reset at `base`) by one checkout that writes the files
  const add = ['worktree', 'add', '--quiet', '--no-checkout', '--detach', where.path, base];
  if ((await git(run.workspace, add)).exitCode !== 0) {
    // a worktree folder deleted by hand is still registered until pruned
    await git(run.workspace, ['worktree', 'prune']);
    await gitOk(run.workspace, add);
  }
  await gitOk(where.path, [
    'checkout',
    '--quiet',
    '--force',
    '--no-recurse-submodules',
    '-B',
    where.branch,
    base,
  ]);
  seedRunFolder(run, where.path);
  return { worktree: { ...where, base }, head: base };
}

/** The commit a worktree's HEAD names, read from its files; undefined when git must be asked. */
function headOfWorktree(worktreePath: string): string | undefined {
  const admin = adminFolderOf(worktreePath);
  if (!admin) return undefined;
  const oid = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
  try {
    const head = fs.readFileSync(path.join(admin, 'HEAD'), 'utf8').trim();
    if (oid.test(head)) return head;
    const ref = /^ref: (refs\/heads\/\S+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    const common = path.resolve(admin, fs.readFileSync(path.join(admin, 'commondir'), 'utf8').trim());
    // a branch just committed to is a loose ref (a packed one is left to git)
    const value = fs.readFileSync(path.join(common, ref), 'utf8').trim();
    return oid.test(value) ? value : undefined;
  } catch {
    return undefined;
  }
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
  return headOfWorktree(worktree.path) ?? (await gitOk(worktree.path, ['rev-parse', 'HEAD'])).trim();
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
  const snapshot = await snapshotCommit(
    run.workspace,
    request.head,
    `sop: ${run.sop}/${run.taskId} workspace before merging ${worktree.branch}`,
  );
  const scratch = scratchFolder(run.workspace);
  const current = snapshot.commit;
  let merged: Awaited<ReturnType<typeof mergeInto>>;
  try {
    merged = await mergeInto(run, worktree, current, work, snapshot.index);
  } catch (err) {
    fs.rmSync(snapshot.index, { force: true });
    throw err;
  }
  if ('conflicts' in merged) {
    keepIndex(scratch, snapshot.index, current, snapshot.tree);
    // the producer resolves them in its worktree: its work merged with the run's state, with markers
    await git(worktree.path, ['merge', '--no-ff', '--no-commit', '--quiet', current]);
    return { merged: false, head: current, conflicts: merged.conflicts };
  }
  keepIndex(scratch, snapshot.index, merged.commit, merged.tree);
  if (!request.keep) await removeWorktree(run.workspace, worktree);
  return { merged: true, head: merged.commit, commit: work, files: merged.files };
}

/**
 * Merges `work` into the workspace, whose files are the commit `current` (a three-way `git merge-tree`):
 * the result is applied to the files and to the scratch `index` (which then holds the merged tree) and
 * committed with both as parents. When the merge conflicts, the conflicting files instead.
 */
async function mergeInto(
  run: RunRef,
  worktree: Worktree,
  current: string,
  work: string,
  index: string,
): Promise<{ conflicts: string[] } | { tree: string; commit: string; files: number }> {
  const merge = await git(run.workspace, [
    'merge-tree',
    '--write-tree',
    '--name-only',
    '--no-messages',
    current,
    work,
  ]);
  const lines = String(merge.stdout).split('\n');
  if (merge.exitCode === 1) return { conflicts: [...new Set(lines.slice(1).filter((l) => l.trim() !== ''))] };
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
    await gitOk(run.workspace, ['apply', '--index', '--binary', '--whitespace=nowarn'], {
      input: `${patch}\n`,
      env: { GIT_INDEX_FILE: index },
    });
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
  return { tree, commit, files: changed.length };
}

export const worktreeActivities = { openWorktree, mergeWorktree };
