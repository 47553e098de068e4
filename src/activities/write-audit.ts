// The runtime's own check of what an agent execution wrote (DESIGN §5): files added, changed or deleted
// in the workspace are compared with the policy's allow_write / deny_write. A write the harness should
// have blocked is a violation even when the harness let it through; the step is not accepted then.
//
// What it sees (workspace-snapshot.ts): in a git repository what git status reports plus the ignored paths
// the policy judges, nested repositories and `.git/`; elsewhere every file by size, mtime, ctime and inode.
// ctime is set by the kernel on every write and cannot be set back, so a rewrite that keeps the size and
// restores the mtime (`touch -d`, `cp -p`) still counts. `.git/` is audited too (see gitWriteAllowed); its
// object store and reflogs are not walked.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { under } from '../policies/paths';
import type { Policy } from '../shapes/policy';
import { splitBetween } from './snapshot-reuse';
import { changedFiles, isDependency, type Snapshot } from './workspace-snapshot';

export { changedFiles, Snapshot, snapshotWorkspace, walkBelowDefault } from './workspace-snapshot';

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
function gitWriteAllowed(inner: string, branchRef: string | undefined): boolean {
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
  /** how the files were found: `git` (status + scans) or `walk` (every file; `fallback` says why) */
  method: 'git' | 'walk';
  fallback?: string;
  /** ignored paths not looked at under `git`: the policy judges no write there */
  unscanned?: string[];
  /** the before-snapshot was the previous execution's after-snapshot (snapshot-reuse.ts) */
  reused?: true;
  /** with `reused`: files written after the previous execution and before this one, not by this one */
  between?: { count: number; paths: string[] };
}

const RECORDED_PATHS = 200;

export function auditWrites(
  before: Snapshot,
  after: Snapshot,
  policy: Policy,
  runFolderRel: string,
  gitBranchRef: string | undefined,
): { violations: string[]; record: WriteRecord } {
  const split = splitBetween(
    before,
    after,
    changedFiles(before, after).filter((f) => !under(f, runFolderRel)),
  );
  const changed = split.execution;
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
    record: {
      files: bounded(files),
      dependencies: bounded(dependencies),
      method: after.method,
      ...(after.fallback ? { fallback: after.fallback } : {}),
      ...(after.git?.unscanned.length ? { unscanned: after.git.unscanned.slice(0, RECORDED_PATHS) } : {}),
      ...(before.git?.startedCtimeMs === undefined ? {} : { reused: true as const }),
      ...(split.between.length ? { between: bounded(split.between) } : {}),
    },
  };
}
