// The runtime's own check of what an agent execution wrote (DESIGN §5): files added, changed or deleted
// in the workspace are compared with the policy's allow_write / deny_write. A write the harness should
// have blocked is a violation even when the harness let it through; the step is not accepted then.
//
// What it sees: every file of the workspace (dependency trees included) by size, mtime, ctime and inode.
// ctime is set by the kernel on every write and cannot be set back, so a rewrite that keeps the size and
// restores the mtime (`touch -d`, `cp -p`) still counts; so does a chmod (a write to the file's metadata).
// `.git/` is audited too (see gitWriteAllowed); its object store and reflogs are not walked.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Policy } from '../policies/model';

/** Inside a `.git` folder: what normal git work writes, and large; never walked (see gitWriteAllowed). */
const GIT_UNWALKED = new Set(['objects', 'logs', 'lfs']);

/** workspace-relative file → size:mtime:ctime:inode */
export type Snapshot = Map<string, string>;

/**
 * Size, mtime, ctime and inode of every file in the workspace. `skip` (workspace-relative) is left out:
 * the run's own folder belongs to the runtime and grows with every step, so walking it would make a long
 * run quadratic; the parallel items' worktrees (`.sop/worktrees/`) are audited each on its own.
 */
export function snapshotWorkspace(workspace: string, skip: string | string[] = []): Snapshot {
  const files: Snapshot = new Map();
  const skipped = new Set((Array.isArray(skip) ? skip : [skip]).map((s) => path.resolve(workspace, s)));
  const walk = (dir: string, inGit: boolean) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (inGit && GIT_UNWALKED.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (skipped.has(full)) continue;
      if (entry.isDirectory()) walk(full, entry.name === '.git');
      else {
        try {
          const stat = fs.lstatSync(full);
          files.set(
            path.relative(workspace, full),
            `${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}:${stat.ino}`,
          );
        } catch {
          // vanished while walking
        }
      }
    }
  };
  walk(workspace, false);
  return files;
}

export function changedFiles(before: Snapshot, after: Snapshot): string[] {
  const changed = new Set<string>();
  for (const [file, sig] of after) if (before.get(file) !== sig) changed.add(file);
  for (const file of before.keys()) if (!after.has(file)) changed.add(file);
  return [...changed].sort();
}

/** Whether a workspace-relative `file` lies under a policy path (`dir/`, `dir/**` or an exact file). */
export function under(file: string, pattern: string): boolean {
  const base = pattern
    .replace(/\/\*\*$/, '')
    .replace(/\/+$/, '')
    .replace(/^\.\//, '');
  return base === '' || base === '.' || file === base || file.startsWith(`${base}/`);
}

/**
 * What ordinary git work on the checked-out branch writes inside `.git/`: the index, objects, reflogs,
 * the branch's own ref, and the notes git leaves after a commit, merge or reset. Everything else there is
 * a violation unless the policy says `allow_git_writes: true`: hooks and config (`core.fsmonitor`,
 * `core.hooksPath`, aliases) run code on the user's next git command; `info/` changes what git ignores
 * and how it treats files; HEAD, other refs and packed-refs move or rewrite history outside the branch.
 */
const GIT_ALLOWED = [
  'index',
  'index.lock',
  'objects/',
  'logs/',
  'lfs/',
  'ORIG_HEAD',
  'COMMIT_EDITMSG',
  'AUTO_MERGE',
  'MERGE_HEAD',
  'MERGE_MSG',
  'MERGE_MODE',
];

/** `.git/`-relative path allowed for normal git work, given the ref of the branch checked out at the start. */
export function gitWriteAllowed(inner: string, branchRef: string | undefined): boolean {
  if (branchRef && (inner === branchRef || inner === `${branchRef}.lock`)) return true;
  return GIT_ALLOWED.some((allowed) =>
    allowed.endsWith('/') ? inner.startsWith(allowed) : inner === allowed,
  );
}

/** The ref `.git/HEAD` names (`refs/heads/main`), or undefined when detached or not a git repository. */
export function headRef(workspace: string): string | undefined {
  try {
    return /^ref: (refs\/heads\/\S+)\s*$/.exec(
      fs.readFileSync(path.join(workspace, '.git', 'HEAD'), 'utf8'),
    )?.[1];
  } catch {
    return undefined;
  }
}

const isDependency = (file: string) => file === 'node_modules' || /(^|\/)node_modules\//.test(file);

/**
 * Violations among `files` (workspace-relative); the run folder always belongs to the runtime, and files
 * in node_modules/ are recorded, not judged (package managers and test tools write there). `gitBranchRef`
 * is the branch checked out when the execution started (its ref may move: the agent committed).
 */
export function writeViolations(
  files: string[],
  policy: Policy,
  runFolderRel: string,
  gitBranchRef?: string,
): string[] {
  const violations: string[] = [];
  for (const file of files) {
    if (under(file, runFolderRel) || isDependency(file)) continue;
    if (file.startsWith('.git/') && !policy.allow_git_writes) {
      if (!gitWriteAllowed(file.slice('.git/'.length), gitBranchRef)) {
        violations.push(
          `${file} was written: in .git/ only the index, objects, reflogs and the checked-out branch's ref${gitBranchRef ? ` (${gitBranchRef})` : ''} may change; hooks, config and other refs act on the user's next git command (a policy allows it with allow_git_writes: true)`,
        );
        continue;
      }
    }
    if (policy.sandbox === 'read-only') violations.push(`${file} was written by a read-only step`);
    else if (policy.deny_write?.some((p) => under(file, p))) violations.push(`${file} is under deny_write`);
    else if (
      policy.allow_write?.length &&
      !file.startsWith('.git/') &&
      !policy.allow_write.some((p) => under(file, p))
    ) {
      violations.push(`${file} is outside allow_write (${policy.allow_write.join(', ')})`);
    }
  }
  return violations;
}

/** What one execution wrote, for its evidence: bounded lists (the counts are exact). */
export interface WriteRecord {
  /** files written outside node_modules/ and the run's own folder */
  files: { count: number; paths: string[] };
  /** files written in node_modules/ (recorded, never a violation) */
  dependencies: { count: number; paths: string[] };
}

const RECORDED_PATHS = 200;

export function auditWrites(
  before: Snapshot,
  after: Snapshot,
  policy: Policy,
  runFolderRel: string,
  gitBranchRef: string | undefined,
): { violations: string[]; record: WriteRecord } {
  const changed = changedFiles(before, after).filter((f) => !under(f, runFolderRel));
  const dependencies = changed.filter(isDependency);
  const files = changed.filter((f) => !isDependency(f));
  const bounded = (list: string[]) => ({ count: list.length, paths: list.slice(0, RECORDED_PATHS) });
  // A harness sandbox protects some .git/ paths by mounting over them, and creates an empty file where
  // none existed (Claude Code: .git/config.worktree). An empty new file there runs and changes nothing.
  const placeholder = (f: string) =>
    f.startsWith('.git/') && !before.has(f) && after.get(f)?.startsWith('0:');
  return {
    violations: writeViolations(
      changed.filter((f) => !placeholder(f)),
      policy,
      runFolderRel,
      gitBranchRef,
    ),
    record: { files: bounded(files), dependencies: bounded(dependencies) },
  };
}
