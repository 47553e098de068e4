// deny_read and git: a harness sandbox hides a path of the working tree, but `git show HEAD:<path>` and
// `git cat-file -p` read the same content from the object store, which neither harness blocks (verified
// with codex 0.169 and claude 2.1.330). So before launch the runtime asks git which deny_read paths it
// can reveal: tracked now (the index), or in any commit reachable from a ref or the reflog.

import { spawnSync } from 'node:child_process';

export interface GitExposure {
  /** the deny_read entry as the policy wrote it */
  path: string;
  /** how git reveals it: "tracked: .env", "in history: commit 1a2b3c4", or why it could not be checked */
  how: string;
}

/** A policy path as git pathspecs: `dir/` and `dir/**` are trees, globs stay globs (`:(glob)` magic). */
function pathspecs(pattern: string): string[] {
  const base = pattern
    .replace(/^\.\//, '')
    .replace(/\/\*\*$/, '')
    .replace(/\/+$/, '');
  return [`:(glob)${base}`, `:(glob)${base}/**`];
}

/** The deny_read entries git can print in `workspace`; none when it is not a git work tree. */
export function gitExposures(workspace: string, denyRead: string[]): GitExposure[] {
  if (denyRead.length === 0) return [];
  const git = (args: string[]) =>
    spawnSync('git', args, {
      cwd: workspace,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      // a check must not take locks or refresh the index of the user's repository
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
    });
  const inside = git(['rev-parse', '--is-inside-work-tree']);
  if (inside.status !== 0 || inside.stdout.trim() !== 'true') return [];
  const hasCommits = git(['rev-parse', '--verify', '--quiet', 'HEAD']).status === 0;
  // the common case (nothing revealed) costs one ls-files and one history walk for all entries together
  const all = denyRead.flatMap(pathspecs);
  const anyTracked = git(['ls-files', '-z', '--', ...all]);
  const anyHistory = hasCommits
    ? git(['log', '--all', '--reflog', '-n', '1', '--format=%h', '--', ...all])
    : undefined;
  if (
    anyTracked.status === 0 &&
    anyTracked.stdout === '' &&
    (!anyHistory || (anyHistory.status === 0 && anyHistory.stdout.trim() === ''))
  ) {
    return [];
  }
  const exposures: GitExposure[] = [];
  for (const entry of denyRead) {
    const specs = pathspecs(entry);
    const tracked = git(['ls-files', '-z', '--', ...specs]);
    if (tracked.status !== 0) {
      exposures.push({ path: entry, how: `could not be checked: git ls-files: ${tracked.stderr.trim()}` });
      continue;
    }
    const files = tracked.stdout.split('\0').filter(Boolean);
    if (files.length > 0) {
      const shown = files.slice(0, 3).join(', ') + (files.length > 3 ? `, … (${files.length} files)` : '');
      exposures.push({ path: entry, how: `tracked: ${shown}` });
      continue;
    }
    if (!hasCommits) continue;
    const log = git(['log', '--all', '--reflog', '-n', '1', '--format=%h', '--', ...specs]);
    if (log.status !== 0) {
      exposures.push({ path: entry, how: `could not be checked: git log: ${log.stderr.trim()}` });
    } else if (log.stdout.trim()) {
      exposures.push({ path: entry, how: `in history: commit ${log.stdout.trim()}` });
    }
  }
  return exposures;
}
