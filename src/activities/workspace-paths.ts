import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Resolves a workspace-relative path and refuses anything that ends up outside the workspace, whether by
 * `..`, an absolute path, or a symlink (the existing part of the path is resolved, links included).
 */
export function resolveInWorkspace(workspace: string, relative: string): string {
  if (path.isAbsolute(relative))
    throw new Error(`path ${relative} is absolute; artifact paths are workspace-relative`);
  const root = fs.realpathSync(workspace);
  const full = path.resolve(root, relative);
  if (!isInside(root, full)) throw new Error(`path ${relative} escapes the workspace`);
  // lstat, not exists: a dangling link exists too, and a write through it creates its target wherever it points
  let existing = full;
  while (!lexists(existing)) existing = path.dirname(existing);
  const dangling = fs.lstatSync(existing).isSymbolicLink() && !fs.existsSync(existing);
  const real = dangling
    ? path.resolve(fs.realpathSync(path.dirname(existing)), fs.readlinkSync(existing))
    : fs.realpathSync(existing);
  if (!isInside(root, real))
    throw new Error(`path ${relative} leads outside the workspace through a symlink`);
  return full;
}

function lexists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root + path.sep);
}
