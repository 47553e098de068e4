import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { keepAfterSnapshot, reuseWindowMsDefault, snapshotBefore } from '../../src/activities/snapshot-reuse';
import { auditWrites, headRef, snapshotWorkspace } from '../../src/activities/write-audit';
import type { Policy } from '../../src/shapes/policy';

const RUN = '.sop/runs/s/t';
const SKIP = [RUN];
const POLICY: Policy = { sandbox: 'workspace-write', deny_write: ['locked/**'] };

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function write(ws: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(ws, name)), { recursive: true });
    fs.writeFileSync(path.join(ws, name), text);
  }
}

function repo(): string {
  const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-audit-reuse-')));
  git(ws, 'init', '-q', '-b', 'work');
  write(ws, {
    'src/a.txt': 'a\n',
    'src/b.txt': 'b\n',
    'locked/keep.txt': 'k\n',
    'locked/old.txt': 'o\n',
    'locked/sub/x.txt': 'x\n',
  });
  git(ws, 'add', '-A');
  git(ws, 'commit', '-qm', 'first');
  write(ws, { 'dirty.txt': 'untracked before\n' });
  return ws;
}

/** file times tick coarsely; a harness starts long after a snapshot */
const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

/** One agent execution as the interpreter runs it: before (reused when sound), act, after, audit. */
async function execution(ws: string, act: () => void, reuseWindowMs = 30_000) {
  const before = snapshotBefore(ws, SKIP, { policy: POLICY, walkBelow: 0, reuseWindowMs });
  const branch = headRef(ws);
  await tick();
  act();
  const after = snapshotWorkspace(ws, SKIP, {
    policy: POLICY,
    since: before,
    refreshIndex: reuseWindowMs > 0,
  });
  keepAfterSnapshot(ws, SKIP, POLICY, after, reuseWindowMs);
  return auditWrites(before, after, POLICY, RUN, branch);
}

describe('write audit: the previous execution after-snapshot serves as the next before-snapshot', () => {
  test('a second execution reuses the snapshot and sees exactly the writes a fresh snapshot sees', async () => {
    const acts = [
      (ws: string) => write(ws, { 'src/a.txt': 'agent 1\n' }),
      (ws: string) => {
        write(ws, { 'src/b.txt': 'agent 2\n', 'src/new.txt': 'n\n' });
        fs.rmSync(path.join(ws, 'src/a.txt'));
      },
    ];
    const reused = repo();
    const fresh = repo();
    const withReuse = [];
    const withoutReuse = [];
    for (const act of acts) {
      withReuse.push(await execution(reused, () => act(reused)));
      withoutReuse.push(await execution(fresh, () => act(fresh), 0));
    }
    expect(withReuse[0]!.record.reused).toBeUndefined();
    expect(withReuse[1]!.record.reused).toBe(true);
    expect(withoutReuse[1]!.record.reused).toBeUndefined();
    expect(withReuse[1]!.record.files.paths).toEqual(['src/a.txt', 'src/b.txt', 'src/new.txt']);
    expect(withReuse.map((r) => r.record.files)).toEqual(withoutReuse.map((r) => r.record.files));
  });

  test('writes by something else between two executions are not the agent: changed, added and deleted files are named as between, the agent own write is still a violation', async () => {
    const ws = repo();
    await execution(ws, () => write(ws, { 'src/a.txt': 'agent 1\n' }));
    // a person (or a command step) between the executions: a clean tracked file, a new file, a deletion
    write(ws, { 'locked/keep.txt': 'edited by a person\n', 'locked/person.txt': 'p\n' });
    fs.rmSync(path.join(ws, 'locked/sub/x.txt'));
    await tick();
    const second = await execution(ws, () => write(ws, { 'locked/old.txt': 'the agent\n' }));
    expect(second.record.reused).toBe(true);
    expect(second.record.files.paths).toEqual(['locked/old.txt']);
    expect(second.violations).toEqual(['locked/old.txt is under deny_write']);
    expect(second.record.between?.paths).toEqual([
      'locked/keep.txt',
      'locked/person.txt',
      'locked/sub/x.txt',
    ]);
    // the third execution starts from what the second saw: nothing of the person's is blamed on it
    const third = await execution(ws, () => write(ws, { 'src/b.txt': 'agent 3\n' }));
    expect(third.record.reused).toBe(true);
    expect(third.record.files.paths).toEqual(['src/b.txt']);
    expect(third.violations).toEqual([]);
    expect(third.record.between).toBeUndefined();
  });

  test('a file written between and again by the agent is the agent write', async () => {
    const ws = repo();
    await execution(ws, () => write(ws, { 'src/a.txt': 'agent 1\n' }));
    write(ws, { 'locked/keep.txt': 'a person\n' });
    await tick();
    const second = await execution(ws, () => write(ws, { 'locked/keep.txt': 'then the agent\n' }));
    expect(second.record.reused).toBe(true);
    expect(second.violations).toEqual(['locked/keep.txt is under deny_write']);
    expect(second.record.between).toBeUndefined();
  });

  test('a fresh snapshot is taken when a listed file, HEAD or the index changed, when the snapshot is too old, or when reuse is off', async () => {
    const ws = repo();
    const again = async (between: () => void, window = 30_000) => {
      await execution(ws, () => write(ws, { 'src/a.txt': `agent ${Math.random()}\n` }), window);
      between();
      await tick();
      return execution(ws, () => write(ws, { 'src/b.txt': `agent ${Math.random()}\n` }), window);
    };
    // an untracked file the snapshot lists, rewritten between: the fingerprint sees it
    expect((await again(() => write(ws, { 'dirty.txt': 'someone\n' }))).record.reused).toBeUndefined();
    // a commit between (HEAD's branch ref and the index move)
    const committed = await again(() => {
      git(ws, 'add', '-A');
      git(ws, 'commit', '-qm', 'between');
    });
    expect(committed.record.reused).toBeUndefined();
    expect(committed.record.files.paths).toEqual(['src/b.txt']);
    // nothing between: reused
    expect((await again(() => {})).record.reused).toBe(true);
    // reuse off
    expect((await again(() => {}, 0)).record.reused).toBeUndefined();
    // another policy scope: a fresh snapshot
    await execution(ws, () => write(ws, { 'src/a.txt': 'x\n' }));
    expect(
      snapshotBefore(ws, SKIP, { policy: { sandbox: 'read-only' }, walkBelow: 0 }).git?.startedCtimeMs,
    ).toBe(undefined);
  });

  test('SOP_AUDIT_REUSE_MS: default 30 s, 0 turns reuse off, a bad value is refused by name', () => {
    expect(reuseWindowMsDefault({})).toBe(30_000);
    expect(reuseWindowMsDefault({ SOP_AUDIT_REUSE_MS: '0' })).toBe(0);
    expect(() => reuseWindowMsDefault({ SOP_AUDIT_REUSE_MS: 'soon' })).toThrow(/SOP_AUDIT_REUSE_MS/);
  });
});
