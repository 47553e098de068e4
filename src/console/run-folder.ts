// What the console reads from a run's folder (beside its workspace, when `sop serve` can see it): the
// executions (executions.jsonl), the artifacts the run wrote, and the files each accepted execution changed
// (its evidence record's write audit) with their diff where git can give one.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExecutionRecord } from '../activities/run-summary';
import { EXECUTIONS, RUN_JSON } from '../evidence/run-files';

/** Artifacts larger than this are linked, not shown. */
const ARTIFACT_SHOWN_MAX = 256 * 1024;
const DIFF_MAX = 200 * 1024;

export function readExecutions(runFolder: string): ExecutionRecord[] {
  try {
    return fs
      .readFileSync(path.join(runFolder, EXECUTIONS), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ExecutionRecord);
  } catch {
    return [];
  }
}

export interface Artifact {
  /** run-folder-relative */
  name: string;
  kind: 'md' | 'json' | 'text';
  size: number;
}

/** The files the run wrote at the top of its run folder (not the runtime's own records). */
export function listArtifacts(runFolder: string): Artifact[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(runFolder, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile() && e.name !== EXECUTIONS && e.name !== RUN_JSON && !e.name.startsWith('.'))
    .map((e) => ({
      name: e.name,
      kind: e.name.endsWith('.md')
        ? ('md' as const)
        : e.name.endsWith('.json')
          ? ('json' as const)
          : ('text' as const),
      size: fs.statSync(path.join(runFolder, e.name)).size,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** An artifact's text, when it is one of the run folder's own files and small enough to show. */
export function readArtifact(runFolder: string, name: string): string | undefined {
  const found = listArtifacts(runFolder).find((a) => a.name === name);
  if (!found || found.size > ARTIFACT_SHOWN_MAX) return undefined;
  return fs.readFileSync(path.join(runFolder, found.name), 'utf8');
}

export interface ExecutionChange {
  execution: ExecutionRecord;
  files: string[];
  /** the unified diff, when git can give one (a worktree's branch against its base; else these files in the
   *  workspace as they are now against HEAD, an untracked one whole) */
  diff?: string;
  diffOf?: string;
}

/** The files each accepted agent execution changed, per its evidence record, with a diff where git has one. */
export function executionChanges(runFolder: string, workspace: string): ExecutionChange[] {
  const changes: ExecutionChange[] = [];
  for (const execution of readExecutions(runFolder)) {
    if (execution.kind !== 'agent' || execution.accepted !== true) continue;
    const files = changedFilesOf(path.join(runFolder, execution.path, 'evidence.json'));
    if (files.length === 0) continue;
    const change: ExecutionChange = { execution, files };
    const worktree = execution.worktree;
    const diff = worktree
      ? gitDiff(workspace, [`${worktree.base}..${worktree.branch}`, '--'])
      : workspaceDiff(workspace, files);
    if (diff !== undefined) {
      change.diff = diff;
      change.diffOf = worktree
        ? `branch ${worktree.branch} against ${worktree.base.slice(0, 12)}`
        : 'these files in the workspace now, against HEAD';
    }
    changes.push(change);
  }
  return changes;
}

function changedFilesOf(evidenceFile: string): string[] {
  try {
    const evidence = JSON.parse(fs.readFileSync(evidenceFile, 'utf8'));
    const paths = evidence?.writes?.files?.paths;
    return Array.isArray(paths) ? paths.filter((p: unknown): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}

/** The files against HEAD as they are now; a file git does not track is shown whole (as added). */
function workspaceDiff(workspace: string, files: string[]): string | undefined {
  const tracked = git(workspace, ['ls-files', '--', ...files]);
  if (tracked === undefined) return undefined;
  const known = new Set(tracked.split('\n').filter(Boolean));
  let out = known.size > 0 ? (gitDiff(workspace, ['HEAD', '--', ...known]) ?? '') : '';
  for (const file of files.filter((f) => !known.has(f) && fs.existsSync(path.join(workspace, f))))
    out += gitDiff(workspace, ['--no-index', '--', '/dev/null', file]) ?? '';
  return cut(out);
}

const cut = (out: string) =>
  out.length > DIFF_MAX ? `${out.slice(0, DIFF_MAX)}\n… (diff cut at ${DIFF_MAX} bytes)` : out;

function gitDiff(workspace: string, args: string[]): string | undefined {
  const out = git(workspace, ['diff', '--no-color', '--no-ext-diff', ...args]);
  return out === undefined ? undefined : cut(out);
}

/** git's output; `git diff --no-index` exits 1 when the files differ, which is an answer, not a failure. */
function git(workspace: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', ['-C', workspace, ...args], {
      encoding: 'utf8',
      maxBuffer: 8 * DIFF_MAX,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5_000,
    });
  } catch (err) {
    const e = err as { status?: number; stdout?: string };
    return e.status === 1 && typeof e.stdout === 'string' ? e.stdout : undefined;
  }
}
