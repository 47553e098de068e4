// Reusing an execution's after-snapshot as the next execution's before-snapshot (write-audit.ts), which
// halves the `git status` calls of a run's agent steps on one workspace.
//
// Reuse is sound when nothing but the audited agent wrote to the workspace between the two snapshots. It is
// taken only when all of these hold, else the before-snapshot is taken afresh:
// - the same worker process took the after-snapshot (the kept snapshot lives in this process's memory) of
//   the same workspace (real path, git folder), with the same left-out paths and the same policy scope (which
//   ignored paths are scanned), through git status; each kept snapshot is used at most once;
// - it ended at most SOP_AUDIT_REUSE_MS ago (default 30 s; 0 never reuses): a command step, a person at a
//   gate or a worktree merge in between takes longer than the scheduling gap between two agent steps;
// - the cheap fingerprint still matches: HEAD, the branch's ref, packed-refs and the index (size, mtime,
//   ctime, inode), and every file the snapshot lists (dirty, untracked, judged-ignored, `.git/`) has the
//   signature it had.
// A write the fingerprint cannot see (a clean tracked file changed, a file added, removed elsewhere) between
// the snapshots is still told apart afterwards: the reused snapshot carries a ctime marker made when the
// execution started, and a changed file whose ctime (for a deleted one: its folder's ctime) is older than that
// marker was written before the execution, not by it (auditWrites names it in `between`, never as the
// agent's). What stays unseen, as with a fresh snapshot taken at that moment, is a write before the start
// that the agent's own write then hides: a file made and then deleted, or changed and then restored.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Policy } from '../shapes/policy';
import { Snapshot, type SnapshotOptions, snapshotWorkspace } from './workspace-snapshot';

/** SOP_AUDIT_REUSE_MS: how old a kept after-snapshot may be to serve as the next before-snapshot. */
export function reuseWindowMsDefault(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SOP_AUDIT_REUSE_MS;
  if (raw === undefined || raw === '') return 30_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(
      `SOP_AUDIT_REUSE_MS must be a whole number of milliseconds (0: never reuse a snapshot), not "${raw}"`,
    );
  return n;
}

interface Kept {
  scope: string;
  snapshot: Snapshot;
  fingerprint: string;
  endedAtMs: number;
}

/** Kept after-snapshots of this worker process, by workspace real path. */
const kept = new Map<string, Kept>();

const sigOf = (file: string) => {
  try {
    const s = fs.lstatSync(file);
    return `${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}`;
  } catch {
    return 'absent';
  }
};

/** What decides which files a snapshot lists: the left-out paths and the policy's view of ignored files. */
function scopeOf(skip: string[], policy: Policy | undefined): string {
  return JSON.stringify([
    [...skip].sort(),
    policy ? [policy.sandbox, policy.deny_write ?? [], policy.allow_write ?? []] : 'every ignored path',
  ]);
}

/** HEAD, the branch's ref, packed-refs and the index, by signature (HEAD by content). */
function gitFingerprint(gitDir: string): string {
  let head = '';
  try {
    head = fs.readFileSync(path.join(gitDir, 'HEAD'), 'utf8');
  } catch {
    // no HEAD: the fingerprint says so
  }
  // a linked worktree's refs and packed-refs live in the common folder
  let common = gitDir;
  try {
    common = path.resolve(gitDir, fs.readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim());
  } catch {
    // not a linked worktree
  }
  const ref = /^ref: (\S+)/.exec(head)?.[1];
  return [
    head,
    ref ? sigOf(path.join(common, ref)) : '',
    sigOf(path.join(common, 'packed-refs')),
    sigOf(path.join(gitDir, 'index')),
  ].join('|');
}

/** Whether every file the snapshot lists still has its signature. */
function listedUnchanged(snapshot: Snapshot, workspace: string): boolean {
  for (const [file, sig] of snapshot) if (sigOf(path.join(workspace, file)) !== sig) return false;
  return true;
}

/** Keeps an execution's after-snapshot (git status only) for the next execution on the same workspace. */
export function keepAfterSnapshot(
  workspace: string,
  skip: string[],
  policy: Policy | undefined,
  after: Snapshot,
  windowMs = reuseWindowMsDefault(),
): void {
  const real = realOrSelf(workspace);
  kept.delete(real);
  if (windowMs === 0 || after.method !== 'git' || !after.git) return;
  // the index as the after-snapshot's refreshing status left it (the audit judged it as it was before that)
  const snapshot = new Snapshot(after);
  snapshot.method = after.method;
  snapshot.git = after.git;
  const indexFile = path.relative(after.git.workspace, path.join(after.git.gitDir, 'index'));
  if (snapshot.has(indexFile)) snapshot.set(indexFile, after.git.index);
  kept.set(real, {
    scope: scopeOf(skip, policy),
    snapshot,
    fingerprint: gitFingerprint(after.git.gitDir),
    endedAtMs: Date.now(),
  });
}

/** Forgets what was kept for a workspace (something of the runtime's own wrote to it). */
export function forgetSnapshot(workspace: string): void {
  kept.delete(realOrSelf(workspace));
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** Why a kept snapshot cannot serve, or undefined when it can. */
function unusable(entry: Kept | undefined, scope: string, windowMs: number, workspace: string) {
  if (!entry) return 'no snapshot kept';
  if (windowMs === 0) return 'reuse is off (SOP_AUDIT_REUSE_MS=0)';
  if (entry.scope !== scope) return 'another scope';
  if (Date.now() - entry.endedAtMs > windowMs) return 'too old';
  const git = entry.snapshot.git!;
  if (!fs.existsSync(git.gitDir) || gitFingerprint(git.gitDir) !== entry.fingerprint)
    return 'HEAD, refs or the index changed';
  if (!listedUnchanged(entry.snapshot, workspace)) return 'a listed file changed';
  return undefined;
}

/**
 * The snapshot before an execution: the previous execution's after-snapshot when reuse is sound (see the
 * top of this file), else a fresh one. A reused one carries `git.startedCtimeMs`.
 */
export function snapshotBefore(
  workspace: string,
  skip: string[],
  options: SnapshotOptions & { reuseWindowMs?: number } = {},
): Snapshot {
  const real = realOrSelf(workspace);
  const entry = kept.get(real);
  kept.delete(real);
  const windowMs = options.reuseWindowMs ?? reuseWindowMsDefault();
  if (!options.walk && !unusable(entry, scopeOf(skip, options.policy), windowMs, workspace)) {
    const was = entry!.snapshot;
    const git = was.git!;
    const marker = path.join(git.gitDir, `sop-audit-${process.pid}-${Date.now()}`);
    fs.writeFileSync(marker, '');
    const startedCtimeMs = fs.lstatSync(marker).ctimeMs;
    fs.unlinkSync(marker);
    const reused = new Snapshot(was);
    reused.method = was.method;
    reused.git = { ...git, startedCtimeMs };
    return reused;
  }
  return snapshotWorkspace(workspace, skip, options);
}

/**
 * Splits the files changed between a reused before-snapshot and the after-snapshot: those last changed
 * (a deleted file: its nearest existing folder last changed) before the execution started were written
 * between the executions, by something else. Without reuse every file is the execution's.
 */
export function splitBetween(
  before: Snapshot,
  after: Snapshot,
  changed: string[],
): { execution: string[]; between: string[] } {
  const started = before.git?.startedCtimeMs;
  const workspace = before.git?.workspace;
  if (started === undefined || workspace === undefined) return { execution: changed, between: [] };
  const execution: string[] = [];
  const between: string[] = [];
  for (const file of changed) {
    let sig = after.get(file) ?? sigOf(path.join(workspace, file));
    // a deleted file: its folder's ctime moved when the entry went (the nearest folder that still exists)
    for (let dir = path.dirname(file); sig === 'absent'; dir = path.dirname(dir)) {
      sig = sigOf(path.join(workspace, dir));
      if (dir === '.' || dir === '/') break;
    }
    const ctime = Number(sig.split(':')[2]);
    (Number.isFinite(ctime) && ctime < started ? between : execution).push(file);
  }
  return { execution, between };
}
