// The runtime's own check of what an agent execution wrote (DESIGN §5): files added, changed or deleted
// in the workspace are compared with the policy's allow_write / deny_write. A write the harness should
// have blocked is a violation even when the harness let it through; the step is not accepted then.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Policy } from '../policies/model';

/** Never walked: version control and dependency trees (agents' tools write there legitimately). */
const SKIP = new Set(['.git', 'node_modules']);

export type Snapshot = Map<string, string>;

/**
 * Size and mtime of every file in the workspace. `skip` (workspace-relative) is left out: the run's own
 * folder belongs to the runtime and grows with every step, so walking it would make a long run quadratic.
 */
export function snapshotWorkspace(workspace: string, skip?: string): Snapshot {
  const files: Snapshot = new Map();
  const skipped = skip ? path.resolve(workspace, skip) : undefined;
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (SKIP.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (full === skipped) continue;
      if (entry.isDirectory()) walk(full);
      else {
        try {
          const stat = fs.lstatSync(full);
          files.set(path.relative(workspace, full), `${stat.size}:${stat.mtimeMs}`);
        } catch {
          // vanished while walking
        }
      }
    }
  };
  walk(workspace);
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

/** Violations among `files` (workspace-relative); the run folder always belongs to the runtime. */
export function writeViolations(files: string[], policy: Policy, runFolderRel: string): string[] {
  const violations: string[] = [];
  for (const file of files) {
    if (under(file, runFolderRel)) continue;
    if (policy.sandbox === 'read-only') violations.push(`${file} was written by a read-only step`);
    else if (policy.deny_write?.some((p) => under(file, p))) violations.push(`${file} is under deny_write`);
    else if (policy.allow_write?.length && !policy.allow_write.some((p) => under(file, p))) {
      violations.push(`${file} is outside allow_write (${policy.allow_write.join(', ')})`);
    }
  }
  return violations;
}
