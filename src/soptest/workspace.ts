// The starting repository of an SOP test (a copied folder or a git ref, always a fresh git repository),
// and which files a run changed in it.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import type { RepoSource } from './spec';

const GIT_IDENTITY = ['-c', 'user.name=sop test', '-c', 'user.email=sop-test@example.invalid'];
/** never part of "files changed": the runtime's folder, git's, and installed dependencies */
const IGNORED = new Set(['.sop', '.git', 'node_modules']);

/** A fresh workspace for one test, under `parent`: the folder copied and committed, or the repository cloned at ref. */
export async function prepareWorkspace(
  source: RepoSource,
  testFile: string,
  parent: string,
): Promise<string> {
  fs.mkdirSync(parent, { recursive: true });
  const workspace = fs.mkdtempSync(path.join(parent, 'ws-'));
  const base = path.dirname(testFile);
  const git = (...args: string[]) => execa('git', [...GIT_IDENTITY, ...args], { cwd: workspace });
  if (typeof source === 'string') {
    const folder = path.resolve(base, source);
    if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory())
      throw new Error(`repo: ${folder} is not a folder (a path relative to the test file)`);
    fs.cpSync(folder, workspace, {
      recursive: true,
      filter: (src) => !IGNORED.has(path.basename(src)) || src === folder,
    });
    await git('init', '-q');
    await git('add', '-A');
    await git('commit', '-q', '--allow-empty', '-m', 'starting repository of the test');
    return workspace;
  }
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(source.git) ? source.git : path.resolve(base, source.git);
  try {
    await execa('git', ['clone', '-q', '--no-checkout', url, workspace]);
    await git('checkout', '-q', '--detach', source.ref);
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new Error(`repo: cannot check out ${source.ref} of ${url}: ${detail}`);
  }
  return workspace;
}

/** sha256 of every file of the workspace, by workspace-relative path (outside .sop/, .git/, node_modules/). */
export function snapshot(workspace: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (IGNORED.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() || entry.isSymbolicLink()) {
        const content = entry.isFile() ? fs.readFileSync(full) : Buffer.from(fs.readlinkSync(full));
        files.set(
          path.relative(workspace, full).split(path.sep).join('/'),
          createHash('sha256').update(content).digest('hex'),
        );
      }
    }
  };
  walk(workspace);
  return files;
}

/** Paths added, modified or deleted between two snapshots, sorted. */
export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed = new Set<string>();
  for (const [file, hash] of after) if (before.get(file) !== hash) changed.add(file);
  for (const file of before.keys()) if (!after.has(file)) changed.add(file);
  return [...changed].sort();
}

/** Where test workspaces go unless --keep names a folder: the system temp folder. */
export function defaultWorkRoot(): string {
  return path.join(os.tmpdir(), `sop-test-${process.pid}`);
}
