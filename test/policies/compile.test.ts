import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  auditWrites,
  changedFiles,
  headRef,
  snapshotWorkspace,
  writeViolations,
} from '../../src/activities/write-audit';
import { CONTROLS, capabilityTable } from '../../src/policies/capabilities';
import { compilePolicy, PolicyUnsupportedError } from '../../src/policies/compile';

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-policy-'));
fs.writeFileSync(path.join(workspace, '.env'), 'SECRET=1\n');
fs.mkdirSync(path.join(workspace, '.git'));

describe('codex', () => {
  test('workspace-write becomes a permission profile: /tmp read-only, deny_read denied, deny_write read-only', () => {
    const compiled = compilePolicy(
      { sandbox: 'workspace-write', deny_read: ['.env', '.secrets/**'], deny_write: ['.git/'] },
      'codex',
      { workspace },
    );
    expect(compiled.args).toEqual([
      '-c',
      'default_permissions="sop_step"',
      '-c',
      'permissions.sop_step={extends=":workspace", filesystem={":workspace_roots"={".git"="read", ".env"="deny"}, ":slash_tmp"="read", ":tmpdir"="read"}}',
    ]);
    // .secrets does not exist: no placeholder would be mounted into the workspace
    expect(compiled.args.join(' ')).not.toContain('.secrets');
    expect(compiled.enforced.allow_write).toBeUndefined();
  });

  test('controls codex cannot enforce are refused, naming them; validation: warn runs with warnings', () => {
    const policy = {
      sandbox: 'workspace-write' as const,
      network: { allow: ['registry.npmjs.org'] },
      max_turns: 5,
    };
    expect(() => compilePolicy(policy, 'codex', { workspace })).toThrow(PolicyUnsupportedError);
    expect(() => compilePolicy(policy, 'codex', { workspace })).toThrow(
      /network: allowlist.*max_turns.*validation: warn/s,
    );
    const warned = compilePolicy({ ...policy, validation: 'warn' }, 'codex', { workspace });
    expect(warned.warnings.map((w) => w.control)).toEqual(['network: allowlist', 'max_turns']);
  });

  test('the default policy compiles to a read-only profile', () => {
    expect(compilePolicy({}, 'codex', { workspace }).args[3]).toBe(
      'permissions.sop_step={extends=":read-only"}',
    );
  });
});

describe('claude', () => {
  test('sandbox paths are absolute (relative ones are silently ignored by claude), rules relative', () => {
    const compiled = compilePolicy(
      { sandbox: 'workspace-write', deny_read: ['.env'], network: 'none' },
      'claude',
      { workspace },
    );
    expect(compiled.args).toEqual(['--permission-mode', 'acceptEdits']);
    const settings = compiled.settings as {
      permissions: { deny: string[] };
      sandbox: { filesystem: { denyRead: string[] }; network: unknown };
    };
    expect(settings.sandbox.filesystem.denyRead).toEqual([path.join(workspace, '.env')]);
    expect(settings.permissions.deny).toEqual(
      expect.arrayContaining(['Read(./.env)', 'WebFetch', 'WebSearch']),
    );
    expect(settings.sandbox.network).toEqual({ allowedDomains: [], strictAllowlist: true });
  });

  test('bypass without full access and paths leaving the workspace are refused', () => {
    expect(() =>
      compilePolicy({ sandbox: 'workspace-write', permission_mode: 'bypass' }, 'claude', { workspace }),
    ).toThrow(/bypass/);
    expect(() =>
      compilePolicy({ sandbox: 'workspace-write', allow_write: ['../x'] }, 'claude', { workspace }),
    ).toThrow(/leaves the workspace/);
  });
});

test('the capability table lists every control for both harnesses', () => {
  const table = capabilityTable();
  for (const control of CONTROLS) expect(table).toContain(`| ${control} |`);
  // a `|` inside a cell must not split it: every row renders as the header's three columns
  const columns = (row: string) => row.split(/(?<!\\)\|/).length - 2;
  for (const row of table.split('\n')) expect([row, columns(row)]).toEqual([row, 3]);
});

describe('write audit', () => {
  test("writes outside allow_write and under deny_write are violations; the run folder is the runtime's", () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-audit-'));
    fs.mkdirSync(path.join(ws, 'src'));
    fs.writeFileSync(path.join(ws, 'src', 'a.js'), 'a');
    const before = snapshotWorkspace(ws);
    fs.writeFileSync(path.join(ws, 'src', 'a.js'), 'changed');
    fs.writeFileSync(path.join(ws, 'README.md'), 'new');
    fs.mkdirSync(path.join(ws, '.sop', 'runs', 's', 't'), { recursive: true });
    fs.writeFileSync(path.join(ws, '.sop', 'runs', 's', 't', 'review.md'), 'ok');
    const changed = changedFiles(before, snapshotWorkspace(ws));
    expect(changed).toEqual(['.sop/runs/s/t/review.md', 'README.md', 'src/a.js']);
    expect(
      writeViolations(changed, { sandbox: 'workspace-write', allow_write: ['src/'] }, '.sop/runs/s/t'),
    ).toEqual(['README.md is outside allow_write (src/)']);
    expect(writeViolations(changed, { sandbox: 'read-only' }, '.sop/runs/s/t')).toHaveLength(2);
    expect(
      writeViolations(changed, { sandbox: 'workspace-write', deny_write: ['src/**'] }, '.sop/runs/s/t'),
    ).toEqual(['src/a.js is under deny_write']);
  });

  test("the run's own folder is not walked; another run's folder still is", () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-audit-'));
    const own = path.join('.sop', 'runs', 's', 't');
    const before = snapshotWorkspace(ws, own);
    for (const dir of [own, path.join('.sop', 'runs', 's', 'other')]) {
      fs.mkdirSync(path.join(ws, dir), { recursive: true });
      fs.writeFileSync(path.join(ws, dir, 'evidence.json'), '{}');
    }
    const after = snapshotWorkspace(ws, own);
    expect([...after.keys()]).toEqual(['.sop/runs/s/other/evidence.json']);
    expect(writeViolations(changedFiles(before, after), { sandbox: 'read-only' }, own)).toEqual([
      '.sop/runs/s/other/evidence.json was written by a read-only step',
    ]);
  });

  test('.git/: normal work on the branch passes, hooks, config and other refs do not; empty sandbox placeholders and node_modules/ are not judged', () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-audit-'));
    for (const dir of ['.git/hooks', '.git/refs/heads', '.git/objects/ab', 'node_modules/x']) {
      fs.mkdirSync(path.join(ws, dir), { recursive: true });
    }
    fs.writeFileSync(path.join(ws, '.git', 'HEAD'), 'ref: refs/heads/work\n');
    fs.writeFileSync(path.join(ws, '.git', 'config'), '[core]\n');
    const before = snapshotWorkspace(ws);
    expect([...before.keys()].sort()).toEqual(['.git/HEAD', '.git/config']); // objects/ is not walked
    for (const [file, text] of Object.entries({
      '.git/index': 'i',
      '.git/objects/ab/cdef': 'o',
      '.git/refs/heads/work': 'sha',
      '.git/refs/heads/other': 'sha',
      '.git/hooks/pre-commit': 'echo pwned',
      '.git/config': '[core]\n\tfsmonitor = x\n',
      '.git/config.worktree': '',
      'node_modules/x/index.js': 'x',
    })) {
      fs.writeFileSync(path.join(ws, file), text);
    }
    const policy = { sandbox: 'workspace-write' as const };
    const audit = auditWrites(before, snapshotWorkspace(ws), policy, '.sop/runs/s/t', headRef(ws));
    expect(audit.violations.map((v) => v.split(' ')[0])).toEqual([
      '.git/config',
      '.git/hooks/pre-commit',
      '.git/refs/heads/other',
    ]);
    expect(audit.record.dependencies).toEqual({ count: 1, paths: ['node_modules/x/index.js'] });
    expect(
      auditWrites(before, snapshotWorkspace(ws), { ...policy, allow_git_writes: true }, '', 'refs/heads/work')
        .violations,
    ).toEqual([]);
  });

  test('a rewrite that keeps the size and restores the mtime is still a write', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-audit-'));
    const file = path.join(ws, 'notes.txt');
    fs.writeFileSync(file, 'AAAA');
    const then = new Date('2020-01-01T00:00:00Z');
    fs.utimesSync(file, then, then);
    const before = snapshotWorkspace(ws);
    // file times tick coarsely on some kernels; a harness starts long after the snapshot, so wait a tick
    await new Promise((resolve) => setTimeout(resolve, 50));
    fs.writeFileSync(file, 'BBBB');
    fs.utimesSync(file, then, then);
    expect(changedFiles(before, snapshotWorkspace(ws))).toEqual(['notes.txt']);
  });
});
