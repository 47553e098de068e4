// The write audit's per-execution cost (`node bench/run.js --only=audit`): snapshot before + snapshot after +
// audit, with one file changed in between, on repositories of N committed files, against `git status
// --porcelain` on the same repository in the same run. The before-snapshot is the previous execution's
// after-snapshot, as for a run's consecutive agent steps on one worker (snapshot-reuse.ts); the audit with a
// fresh before-snapshot (SOP_AUDIT_REUSE_MS=0) is a reference.
// Repositories are built once per size with `git fast-import` and checked out before any timer starts.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { auditWrites, snapshotWorkspace } = require('../dist/activities/write-audit');
const { keepAfterSnapshot, snapshotBefore } = require('../dist/activities/snapshot-reuse');
const { median } = require('./table');

/** Repositories built in this process by size: `--rounds N` builds each once (removed at exit). */
const built = new Map();
process.on('exit', () => {
  for (const dir of built.values()) fs.rmSync(dir, { recursive: true, force: true });
});

/** A repository of `files` committed files (built once per process), reset to its commit. */
function repoOf(files) {
  let dir = built.get(files);
  if (!dir) {
    dir = buildRepo(files);
    built.set(files, dir);
  } else execFileSync('git', ['checkout', '-q', '-f', 'main'], { cwd: dir });
  return dir;
}

/** A repository of `files` committed files, 100 per folder, 1,000 folders per top folder. */
function buildRepo(files) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-bench-audit-')));
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  const lines = [
    'blob\nmark :1\ndata 13\nbench content\n',
    'commit refs/heads/main\ncommitter b <b@example.invalid> 0 +0000\ndata 5\nseed\n',
    'M 100644 inline .gitignore\ndata 13\nnode_modules\n',
  ];
  for (let i = 0; i < files - 1; i++) {
    lines.push(`M 100644 :1 d${Math.floor(i / 100_000)}/e${Math.floor(i / 100) % 1000}/f${i}.txt\n`);
  }
  lines.push('\n');
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: lines.join(''), maxBuffer: 1 << 30 });
  execFileSync('git', ['checkout', '-q', '-f', 'main'], { cwd: dir });
  // index entries as new as the index are "racily clean" and re-read by every status: age them, then let
  // status write the index once, as any repository a user works in has
  execFileSync('sleep', ['1.1']);
  execFileSync('git', ['status', '--porcelain'], { cwd: dir, stdio: 'ignore' });
  return dir;
}

function timed(fn) {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** One execution's audit: before (reused when `reuse`), one file written, after, audit. Returns ms. */
function oneExecution(dir, git, policy, reuse, i) {
  const changed = path.join(dir, 'd0', 'e0', 'f0.txt');
  let wrote = 0;
  const ms = timed(() => {
    const before = snapshotBefore(dir, [], { ...git, reuseWindowMs: reuse ? 600_000 : 0 });
    if (reuse !== (before.git?.startedCtimeMs !== undefined))
      throw new Error(`the before-snapshot was ${reuse ? 'not ' : ''}reused`);
    wrote = timed(() => fs.writeFileSync(changed, `bench change ${i} ${reuse}\n`));
    const after = snapshotWorkspace(dir, [], { ...git, since: before, refreshIndex: reuse });
    keepAfterSnapshot(dir, [], policy, after, reuse ? 600_000 : 0);
    const { record } = auditWrites(before, after, policy, '.sop/runs/b/t', undefined);
    if (!record.files.paths.includes('d0/e0/f0.txt') || record.method !== 'git')
      throw new Error(`the audit missed the change: ${JSON.stringify(record)}`);
  });
  return ms - wrote;
}

/**
 * Rows for each size: the audit per execution with the before-snapshot reused (default policy) and, as a
 * reference, with a fresh one, each against `git status --porcelain` (median of `reps`, interleaved).
 */
function auditRows(sizes, reps, row) {
  const rows = [];
  const policy = { sandbox: 'workspace-write' };
  // always git status, as a workspace of any size past SOP_AUDIT_WALK_BELOW (1,000 files) is audited
  const git = { policy, walkBelow: 0 };
  // a policy that judges ignored paths: status asks with --ignored, which no untracked cache serves
  const judging = { sandbox: 'workspace-write', deny_write: ['secrets/**'] };
  const judgingGit = { policy: judging, walkBelow: 0 };
  for (const files of sizes) {
    const dir = repoOf(files);
    {
      const status = [];
      const reused = [];
      const fresh = [];
      const judged = [];
      const gitStatus = () =>
        status.push(
          timed(() => execFileSync('git', ['status', '--porcelain'], { cwd: dir, stdio: 'ignore' })),
        );
      for (let i = 0; i < reps; i++) {
        gitStatus();
        fresh.push(oneExecution(dir, git, policy, false, i));
        gitStatus();
        // the first execution of a run takes its before-snapshot afresh; the next ones reuse
        if (i === 0) oneExecution(dir, git, policy, false, -1);
        keepAfterSnapshot(dir, [], policy, snapshotWorkspace(dir, [], git), 600_000);
        reused.push(oneExecution(dir, git, policy, true, i));
        keepAfterSnapshot(dir, [], judging, snapshotWorkspace(dir, [], judgingGit), 600_000);
        judged.push(oneExecution(dir, judgingGit, judging, true, i));
      }
      const n = files.toLocaleString('en-US');
      rows.push(
        row(
          `audit: write audit per execution (before-snapshot reused), ${n}-file repo (1 file changed) vs git status --porcelain`,
          median(reused),
          median(status),
          'ms',
          '<= 1.2',
        ),
        row(
          `audit: write audit per execution, fresh before-snapshot (SOP_AUDIT_REUSE_MS=0), ${n}-file repo vs git status --porcelain`,
          median(fresh),
          median(status),
          'ms',
          'reference',
        ),
        row(
          `audit: write audit per execution (before-snapshot reused), deny_write policy (ignored paths judged), ${n}-file repo vs git status --porcelain`,
          median(judged),
          median(status),
          'ms',
          'reference',
        ),
      );
    }
  }
  return rows;
}

module.exports = { auditRows };
