import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Resolves a workspace-relative path and refuses anything that ends up outside the workspace, whether by
 * `..`, an absolute path, or a symlink (the existing part of the path is resolved with realpath).
 */
export function resolveInWorkspace(workspace: string, relative: string): string {
  if (path.isAbsolute(relative))
    throw new Error(`path ${relative} is absolute; artifact paths are workspace-relative`);
  const root = fs.realpathSync(workspace);
  const full = path.resolve(root, relative);
  if (!isInside(root, full)) throw new Error(`path ${relative} escapes the workspace`);
  // follow symlinks on the part of the path that exists
  let existing = full;
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  const real = fs.realpathSync(existing);
  if (!isInside(root, real))
    throw new Error(`path ${relative} leads outside the workspace through a symlink`);
  return full;
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root + path.sep);
}
