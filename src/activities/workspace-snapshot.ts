// What the write audit compares (see write-audit.ts): the state of a workspace before and after an agent
// execution. Two ways, the same answer:
//
// - `git`: the workspace is the top of a git repository (`.git` folder, or the `.git` file of a linked
//   worktree). `git status` (stat info in the index, untracked cache) names the files that differ from HEAD,
//   the untracked files and, only where the policy judges them, the ignored ones; those, the ignored folders
//   the policy cares about, nested repositories, submodules and `.git/` itself are stat-ed or walked. A file
//   that is clean before and listed after was written when its ctime is not older than a marker file made
//   on the same file system when the snapshot started (ctime cannot be set back). Cost: one `git status`
//   plus what is dirty, untracked or judged-ignored, never the untouched tracked files.
// - `walk`: every file by size, mtime, ctime and inode, when the workspace is not a git repository (or git
//   cannot read it; the snapshot says why).
//
// Differences, by design: a clean tracked file rewritten with identical content is not a change under git
// (git compares content), nor is a chmod that leaves the executable bit (the only mode bit git records).
// One gap: git as Debian builds it compares ctime to the second, so a same-size rewrite of a clean tracked
// file that also restores its mtime goes unseen when it falls in the same second as the file's previous
// change, i.e. only when that change came less than a second before the execution started.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { under } from '../policies/paths';
import type { Policy } from '../shapes/policy';

/** Inside a `.git` folder: what normal git work writes, and large; never walked (see gitWriteAllowed). */
const GIT_UNWALKED = new Set(['objects', 'logs', 'lfs']);

/** Signature of a path that does not exist (a deleted tracked file). */
const ABSENT = 'absent';

export interface GitState {
  workspace: string;
  /** the commit HEAD named, undefined on an unborn branch */
  head: string | undefined;
  /** ctime of a file made on the workspace's file system as the snapshot started */
  markerCtimeMs: number;
  /** workspace-relative folders walked file by file (`.git`, judged ignored folders, nested repositories) */
  walked: string[];
  /** size:mtime:ctime:inode of the git folder's index (it lies outside a linked worktree) */
  index: string;
  gitDir: string;
  /** ignored paths not looked at: the policy judges no write there (node_modules/ is recorded only) */
  unscanned: string[];
  /**
   * set on a previous execution's after-snapshot reused as this one's before-snapshot (snapshot-reuse.ts):
   * ctime of a marker made as this execution started; older writes were not this execution's
   */
  startedCtimeMs?: number;
}

/**
 * workspace-relative file → size:mtime:ctime:inode. Under `walk` every file; under `git` the files listed
 * by git status or walked (see GitState).
 */
export class Snapshot extends Map<string, string> {
  method: 'git' | 'walk' = 'walk';
  /** why a git repository was walked instead */
  fallback?: string;
  git?: GitState;
}

export interface SnapshotOptions {
  /** scans only the ignored paths this policy judges (without one, every ignored path) */
  policy?: Policy;
  /** the snapshot before the execution: its walked folders are walked again */
  since?: Snapshot;
  /**
   * after the execution, let status refresh the index (stat info, untracked cache) as the snapshot before
   * does: set when this snapshot will serve as the next execution's before-snapshot (snapshot-reuse.ts)
   */
  refreshIndex?: boolean;
  /** walk every file even in a git repository (what the audit did before; benchmarks compare) */
  walk?: boolean;
  /**
   * a workspace of fewer files than this is walked: cheaper than starting git (about 15 ms a snapshot)
   * and exactly what git would find. Default SOP_AUDIT_WALK_BELOW, else 1,000; 0 always asks git.
   */
  walkBelow?: number;
}

/** The small-workspace bound: SOP_AUDIT_WALK_BELOW (a count of files), else 1,000. */
export function walkBelowDefault(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SOP_AUDIT_WALK_BELOW;
  if (raw === undefined || raw === '') return 1_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(
      `SOP_AUDIT_WALK_BELOW must be a whole number of files (0: always git status), not "${raw}"`,
    );
  return n;
}

/** Thrown by a bounded walk that met more files than its bound. */
class TooManyFiles extends Error {}

export const isDependency = (file: string) => file === 'node_modules' || /(^|\/)node_modules\//.test(file);

const signature = (stat: fs.Stats) => `${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}:${stat.ino}`;

function lstatSig(file: string): string {
  try {
    return signature(fs.lstatSync(file));
  } catch {
    return ABSENT;
  }
}

/**
 * Adds every file under `root` (absolute) to `files`, as today's full walk does; with a `bound`, throws
 * TooManyFiles once `files` holds that many.
 */
function walkInto(
  files: Snapshot,
  workspace: string,
  root: string,
  skipped: Set<string>,
  bound = Number.POSITIVE_INFINITY,
): void {
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
        if (files.size >= bound) throw new TooManyFiles();
        try {
          files.set(path.relative(workspace, full), signature(fs.lstatSync(full)));
        } catch {
          // vanished while walking
        }
      }
    }
  };
  walk(root, path.basename(root) === '.git' && root !== workspace);
}

/**
 * The workspace's state for the write audit. `skip` (workspace-relative) is left out: the run's own folder
 * belongs to the runtime and grows with every step, so walking it would make a long run quadratic; the
 * parallel items' worktrees (`.sop/worktrees/`) are audited each on its own.
 */
export function snapshotWorkspace(
  workspace: string,
  skip: string | string[] = [],
  options: SnapshotOptions = {},
): Snapshot {
  const skips = (Array.isArray(skip) ? skip : [skip]).filter((s) => s !== '');
  const skipped = new Set(skips.map((s) => path.resolve(workspace, s)));
  const gitPath = path.join(workspace, '.git');
  let fallback = 'not a git repository (no .git at the top of the workspace)';
  if (options.walk) fallback = 'asked to walk';
  else if (options.since && !options.since.git) fallback = options.since.fallback ?? 'walked before';
  else if (fs.existsSync(gitPath)) {
    const bound = options.walkBelow ?? walkBelowDefault();
    if (!options.since && bound > 0) {
      const small = new Snapshot();
      try {
        walkInto(small, workspace, workspace, skipped, bound);
        small.fallback = `a small workspace (${small.size} files, fewer than ${bound}): a walk is cheaper than git status`;
        return small;
      } catch (err) {
        if (!(err instanceof TooManyFiles)) throw err;
      }
    }
    try {
      return gitSnapshot(workspace, skips, skipped, options);
    } catch (err) {
      fallback = `git could not be asked: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`;
      // walked after a git snapshot: files clean before are judged by ctime, deleted ones are not seen
      if (options.since?.git) fallback += ' (after the execution: deleted tracked files are not seen)';
    }
  }
  const files = new Snapshot();
  files.fallback = fallback;
  walkInto(files, workspace, workspace, skipped);
  return files;
}

/** The git folder: `.git`, or where a linked worktree's `.git` file points. */
function gitDirOf(workspace: string): string {
  const dotGit = path.join(workspace, '.git');
  if (fs.statSync(dotGit).isDirectory()) return dotGit;
  const pointer = /^gitdir: (.+)$/m.exec(fs.readFileSync(dotGit, 'utf8'))?.[1]?.trim();
  if (!pointer) throw new Error(`${dotGit} names no gitdir`);
  return path.resolve(workspace, pointer);
}

/**
 * Settings that decide what status reports, pinned so a repository's (or an agent's) config cannot hide a
 * write or run code: no fsmonitor hook, ctime trusted, full stat checks.
 */
const GIT_PINNED = [
  '-c',
  'core.fsmonitor=false',
  '-c',
  'core.untrackedCache=true',
  '-c',
  'core.trustctime=true',
  '-c',
  'core.checkStat=default',
  '-c',
  'core.ignoreStat=false',
  '-c',
  'core.quotePath=false',
];

/** The worker's environment without GIT_* variables (GIT_DIR, GIT_INDEX_FILE... would point git elsewhere). */
const gitFreeEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GIT_')));

/** `writeIndex`: status may refresh the index (stat info, untracked cache); only the snapshot before does. */
function git(workspace: string, args: string[], input?: string, writeIndex = false): string {
  return execFileSync('git', [...GIT_PINNED, ...args], {
    cwd: workspace,
    encoding: 'utf8',
    input,
    maxBuffer: 1 << 30,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...gitFreeEnv(), GIT_OPTIONAL_LOCKS: writeIndex ? '1' : '0', LC_ALL: 'C' },
  });
}

/** Whether the policy judges a write under the ignored `entry` (so it must be scanned). */
function ignoredJudged(entry: string, policy: Policy | undefined): boolean {
  if (!policy) return true;
  if (isDependency(entry)) return false;
  if (policy.sandbox === 'read-only') return true;
  if (policy.deny_write?.some((d) => under(entry, d) || under(d.replace(/\/\*\*$/, ''), entry))) return true;
  if (policy.allow_write?.length) return !policy.allow_write.some((a) => under(entry, a));
  return false;
}

const judgesIgnored = (policy: Policy | undefined) =>
  !policy ||
  policy.sandbox === 'read-only' ||
  Boolean(policy.deny_write?.length) ||
  Boolean(policy.allow_write?.length);

function gitSnapshot(
  workspace: string,
  skips: string[],
  skipped: Set<string>,
  options: SnapshotOptions,
): Snapshot {
  const gitDir = gitDirOf(workspace);
  // the marker: made and removed in the git folder, so no walk or status ever sees it
  const marker = path.join(gitDir, `sop-audit-${process.pid}-${Date.now()}`);
  fs.writeFileSync(marker, '');
  const markerCtimeMs = fs.lstatSync(marker).ctimeMs;
  fs.unlinkSync(marker);

  const scanIgnored = judgesIgnored(options.policy);
  // the index as the execution left it (a refreshing status below may rewrite it)
  const indexAtStart = lstatSig(path.join(gitDir, 'index'));
  const records = statusRecords(
    workspace,
    skips,
    scanIgnored,
    !options.since || options.refreshIndex === true,
  );
  const files = new Snapshot();
  files.method = 'git';
  const isSkipped = (p: string) => skips.some((s) => under(p, s));
  const walkRoots = new Set<string>(['.git']);
  const unscanned: string[] = [];
  let head: string | undefined;
  const listed: string[] = [];
  for (const record of records) {
    const kind = record[0];
    if (kind === '#') {
      const oid = /^# branch\.oid (\S+)/.exec(record)?.[1];
      if (oid && oid !== '(initial)') head = oid;
    } else if (kind === '1') listed.push(fieldsAfter(record, 8));
    else if (kind === 'u') listed.push(fieldsAfter(record, 10));
    else if (kind === '?' || kind === '!') {
      const p = record.slice(2);
      const dir = p.endsWith('/');
      const rel = dir ? p.slice(0, -1) : p;
      if (isSkipped(rel)) continue;
      if (kind === '!' && !ignoredJudged(rel, options.policy)) unscanned.push(p);
      else if (dir)
        walkRoots.add(rel); // an ignored folder, or a nested repository (-uall shows no other folder)
      else listed.push(rel);
    }
  }
  if (!scanIgnored) unscanned.push('(ignored files: the policy judges none)');
  for (const sub of submodules(workspace)) if (!isSkipped(sub)) walkRoots.add(sub);
  for (const root of options.since?.git?.walked ?? []) walkRoots.add(root);
  const index = lstatSig(path.join(gitDir, 'index'));
  // entries status trusts blindly (skip-worktree, assume-unchanged) are listed by their own signature when
  // the index can hold skip-worktree ones (version 3+, e.g. a sparse checkout) or the execution changed it
  if (indexVersion(gitDir) !== 2 || (options.since?.git && options.since.git.index !== indexAtStart))
    listed.push(...hiddenFromStatus(workspace));
  for (const p of listed) if (!isSkipped(p)) files.set(p, lstatSig(path.join(workspace, p)));
  for (const root of walkRoots) {
    const abs = path.join(workspace, root);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(abs);
    } catch {
      continue;
    }
    if (stat.isDirectory()) walkInto(files, workspace, abs, skipped);
    else files.set(root, signature(stat)); // a linked worktree's `.git` file
  }
  // an after-snapshot that refreshed the index: its own rewrite is no write of the execution's
  const indexFile = path.relative(workspace, path.join(gitDir, 'index'));
  if (options.since && options.refreshIndex && files.has(indexFile)) files.set(indexFile, indexAtStart);
  files.git = {
    workspace,
    head,
    markerCtimeMs,
    walked: [...walkRoots],
    index,
    gitDir,
    unscanned,
  };
  return files;
}

const STATUS = ['status', '--porcelain=v2', '-z', '--ignore-submodules=all', '--no-renames'];

/** Past this many new untracked folders, one status lists every untracked file instead of asking per folder. */
const FOLDERS_ASKED = 64;

/**
 * The records of `git status` as `--untracked-files=all` gives them (every untracked file by name; a nested
 * repository as a folder). Unless the policy judges ignored files, status runs with `normal` first: that
 * mode uses the untracked cache (only directories whose stat changed are read again), which `all` bypasses
 * unless the user configured it, and a folder it names as untracked is asked again with `all`, left-out
 * paths excluded, so the records are the same. `--ignored` bypasses the cache in any mode: then `all` at once.
 */
function statusRecords(
  workspace: string,
  skips: string[],
  scanIgnored: boolean,
  writeIndex: boolean,
): string[] {
  const records = (out: string) => out.split('\0').filter((r) => r !== '');
  if (scanIgnored)
    return records(
      git(workspace, [...STATUS, '--branch', '-uall', '--ignored=matching'], undefined, writeIndex),
    );
  const first = records(git(workspace, [...STATUS, '--branch', '-unormal'], undefined, writeIndex));
  const folders = first.filter((r) => r.startsWith('? ') && r.endsWith('/')).map((r) => r.slice(2));
  if (folders.length === 0) return first;
  if (folders.length > FOLDERS_ASKED)
    return records(git(workspace, [...STATUS, '--branch', '-uall'], undefined, false));
  const inFolders = git(workspace, [
    ...STATUS,
    '-uall',
    '--',
    ...folders.map((f) => `:(literal)${f}`),
    ...skips.map((s) => `:(exclude,literal)${s}`),
  ]);
  return [...first.filter((r) => !(r.startsWith('? ') && r.endsWith('/'))), ...records(inFolders)];
}

/** The path of a porcelain v2 record: what follows its first `n` space-separated fields. */
function fieldsAfter(record: string, n: number): string {
  let at = 0;
  for (let i = 0; i < n; i++) at = record.indexOf(' ', at) + 1;
  return record.slice(at);
}

/** Submodule folders (from `.gitmodules`): walked in full, as the plain walk did. */
function submodules(workspace: string): string[] {
  if (!fs.existsSync(path.join(workspace, '.gitmodules'))) return [];
  try {
    return git(workspace, ['config', '-z', '-f', '.gitmodules', '--get-regexp', '^submodule\\..*\\.path$'])
      .split('\0')
      .filter(Boolean)
      .map((line) => line.slice(line.indexOf('\n') + 1));
  } catch {
    return [];
  }
}

/** Files added, changed or deleted between two snapshots of the same workspace. */
export function changedFiles(before: Snapshot, after: Snapshot): string[] {
  const changed = new Set<string>();
  if (before.git && after.git) {
    for (const file of gitChanged(before, after, before.git, after.git)) changed.add(file);
  } else if (before.git) {
    // git failed after the execution: what was listed by its signature, the rest of the walk by ctime
    const marker = before.git.markerCtimeMs;
    for (const [file, sig] of before) if ((after.get(file) ?? ABSENT) !== sig) changed.add(file);
    for (const [file, sig] of after)
      if (!before.has(file) && Number(sig.split(':')[2]) >= marker) changed.add(file);
  } else {
    for (const [file, sig] of after) if (before.get(file) !== sig) changed.add(file);
    for (const file of before.keys()) if (!after.has(file)) changed.add(file);
  }
  return [...changed].sort();
}

function gitChanged(before: Snapshot, after: Snapshot, was: GitState, now: GitState): string[] {
  const changed: string[] = [];
  const ws = was.workspace;
  const nowSig = (p: string) => after.get(p) ?? lstatSig(path.join(ws, p));
  const walkedBefore = (p: string) => was.walked.some((root) => under(p, root));
  // listed or walked before: its signature decides (a vanished file is a deletion)
  for (const [file, sig] of before) if (nowSig(file) !== sig) changed.push(file);
  // listed now only, or moved between commits: clean (or absent) before
  const candidates = new Set(after.keys());
  if (was.head !== now.head)
    for (const file of committedBetween(ws, was.head, now.head)) candidates.add(file);
  const absent: string[] = [];
  for (const file of candidates) {
    if (before.has(file)) continue;
    const sig = nowSig(file);
    if (walkedBefore(file)) {
      if (sig !== ABSENT) changed.push(file); // new in a folder walked before
    } else if (sig === ABSENT) absent.push(file);
    else if (Number(sig.split(':')[2]) >= was.markerCtimeMs) changed.push(file);
  }
  // absent now and clean before: deleted when it was in the commit checked out before
  changed.push(...inCommit(ws, was.head, absent));
  return changed;
}

/** Files that differ between two commits (either may be unborn). */
function committedBetween(workspace: string, from: string | undefined, to: string | undefined): string[] {
  const list = (commit: string) =>
    git(workspace, ['ls-tree', '-r', '-z', '--name-only', commit]).split('\0').filter(Boolean);
  if (!from && !to) return [];
  if (!from) return list(to!);
  if (!to) return list(from);
  return git(workspace, ['diff', '--name-only', '-z', '--no-renames', from, to]).split('\0').filter(Boolean);
}

/** The index format version (2 when there is no index: nothing in it is hidden). */
function indexVersion(gitDir: string): number {
  try {
    const fd = fs.openSync(path.join(gitDir, 'index'), 'r');
    try {
      const header = Buffer.alloc(8);
      fs.readSync(fd, header, 0, 8, 0);
      return header.readUInt32BE(4);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return 2;
  }
}

/**
 * Entries the index tells status to trust blindly (assume-unchanged, skip-worktree): checked one by one.
 * Assume-unchanged entries a user set before the execution in a version-2 index are trusted as git does.
 */
function hiddenFromStatus(workspace: string): string[] {
  return git(workspace, ['ls-files', '-v', '-z'])
    .split('\0')
    .filter((line) => /^([a-z]|S) /.test(line))
    .map((line) => line.slice(2));
}

/** Which of `files` the commit holds. */
function inCommit(workspace: string, commit: string | undefined, files: string[]): string[] {
  if (!commit || !files.length) return [];
  const answers = git(
    workspace,
    ['cat-file', '--batch-check=%(objecttype)'],
    files.map((f) => `${commit}:${f}\n`).join(''),
  ).split('\n');
  return files.filter((_, i) => answers[i] !== '' && !answers[i]!.endsWith('missing'));
}
