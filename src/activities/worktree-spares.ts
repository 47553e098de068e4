// A spare checkout per mirror, so a worker whose mirror has the repository provisions a run without
// writing every file again: after provisioning a run of a repo.url workspace, the worker checks out one
// more worktree of the mirror (detached, in the background, under the mirror's lock) and keeps it in
// `<work root>/spares/`. The next run of that repository moves it into place (`git worktree move`) and
// switches it to the run branch (`git checkout --force -B`: only the files that differ are written), then
// `git clean -ffdx` removes anything that is not in the commit, so the run starts from exactly the commit a
// fresh `git worktree add` gives. When anything of that fails, the spare is dropped and the run gets a fresh
// worktree. SOP_SPARE_WORKTREES=0 keeps no spare (each costs the disk space of one checkout).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { envValue } from '../config/env';

const READY = 'ready';

async function git(cwd: string, args: string[]): Promise<void> {
  const r = await execa('git', ['-c', 'core.hooksPath=/dev/null', ...args], {
    cwd,
    reject: false,
    stdin: 'ignore',
  });
  if (r.exitCode !== 0) throw new Error(`git ${args[0]} in ${cwd} failed: ${String(r.stderr).trim()}`);
}

/** Where a mirror's spare lives: `<root>/spares/<mirror name>/` (the checkout is `tree/` in it). */
export function spareFolder(root: string, mirror: string): string {
  return path.join(root, 'spares', path.basename(mirror, '.git'));
}

export function sparesWanted(): boolean {
  return envValue('SOP_SPARE_WORKTREES') === '1';
}

/**
 * Moves the mirror's spare checkout to `worktree` on `branch` at `start`. False when there is none ready
 * (or it could not be used: it is removed, and the caller adds a fresh worktree).
 */
export async function takeSpare(
  mirror: string,
  folder: string,
  worktree: string,
  branch: string,
  start: string,
): Promise<boolean> {
  const ready = path.join(folder, READY);
  if (!fs.existsSync(ready)) return false;
  fs.rmSync(ready);
  const tree = path.join(folder, 'tree');
  try {
    await git(mirror, ['worktree', 'move', tree, worktree]);
    await git(worktree, ['checkout', '--quiet', '--force', '--no-recurse-submodules', '-B', branch, start]);
    await git(worktree, ['clean', '--quiet', '-ffdx']);
    return true;
  } catch {
    for (const dir of [tree, worktree]) {
      await git(mirror, ['worktree', 'remove', '--force', dir]).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await git(mirror, ['worktree', 'prune']).catch(() => undefined);
    return false;
  }
}

/** Checks out a spare of the mirror at `start` (detached) unless one is ready. Never throws. */
export async function prepareSpare(mirror: string, folder: string, start: string): Promise<void> {
  const tree = path.join(folder, 'tree');
  if (fs.existsSync(path.join(folder, READY))) return;
  try {
    if (fs.existsSync(tree)) {
      await git(mirror, ['worktree', 'remove', '--force', tree]).catch(() => undefined);
      fs.rmSync(tree, { recursive: true, force: true });
    }
    await git(mirror, ['worktree', 'prune']);
    fs.mkdirSync(folder, { recursive: true });
    await git(mirror, ['worktree', 'add', '--quiet', '--force', '--detach', tree, start]);
    fs.writeFileSync(path.join(folder, READY), `${start}\n`);
  } catch {
    fs.rmSync(tree, { recursive: true, force: true });
  }
}
