import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createWorkspaceActivities, sparesSettled } from '../../src/activities/workspaces';
import { stateDir } from '../../src/harnesses/state-dir';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

let scratch: string;
let remote: string;
let seed: string;

beforeEach(() => {
  seed = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-spare-seed-'));
  fs.writeFileSync(path.join(seed, 'a.txt'), 'a\n');
  fs.writeFileSync(path.join(seed, '.gitignore'), 'build/\n');
  git(seed, 'init', '-q', '-b', 'main');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-qm', 'first');
  remote = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-spare-remote-'));
  git(os.tmpdir(), 'clone', '-q', '--bare', seed, remote);
  // a work root must be outside /tmp
  scratch = fs.mkdtempSync(path.join(stateDir(), 'test-spares-'));
});

afterEach(async () => {
  await sparesSettled();
  for (const dir of [seed, remote, scratch]) fs.rmSync(dir, { recursive: true, force: true });
});

const worktrees = (root: string) =>
  git(
    fs.readdirSync(path.join(root, 'repos')).map((m) => path.join(root, 'repos', m))[0]!,
    'worktree',
    'list',
  );

describe('repo.url provisioning on a worker whose mirror has the repository', () => {
  test('the next run takes the spare checkout: on its own branch, at the newest commit, with nothing left over from the spare', async () => {
    const root = path.join(scratch, 'root');
    const { provisionWorkspace } = createWorkspaceActivities({ workerQueue: 'q', workRoot: root });
    const first = await provisionWorkspace({ sop: 's', taskId: 'one', url: remote });
    await sparesSettled();
    const spare = path.join(
      root,
      'spares',
      path.basename(worktrees(root).split('\n')[0]!.split(/\s+/)[0]!, '.git'),
      'tree',
    );
    expect(fs.readFileSync(path.join(spare, 'a.txt'), 'utf8')).toBe('a\n');
    // something wrote in the spare (it must not reach the next run), and the remote moved on
    fs.writeFileSync(path.join(spare, 'a.txt'), 'tampered\n');
    fs.writeFileSync(path.join(spare, 'stray.txt'), 's\n');
    fs.mkdirSync(path.join(spare, 'build'));
    fs.writeFileSync(path.join(spare, 'build', 'out.js'), 'o\n');
    fs.writeFileSync(path.join(seed, 'b.txt'), 'b\n');
    git(seed, 'add', '-A');
    git(seed, 'commit', '-qm', 'second');
    git(seed, 'push', '-q', remote, 'main');

    const second = await provisionWorkspace({ sop: 's', taskId: 'two', url: remote });
    const ws = second.placement.workspace;
    expect(fs.existsSync(spare)).toBe(false); // moved into place, not copied
    expect(git(ws, 'rev-parse', 'HEAD')).toBe(git(seed, 'rev-parse', 'HEAD'));
    expect(git(ws, 'symbolic-ref', 'HEAD')).toBe(`refs/heads/${second.placement.branch}`);
    expect(git(ws, 'status', '--porcelain', '--ignored')).toBe('');
    expect(fs.readFileSync(path.join(ws, 'a.txt'), 'utf8')).toBe('a\n');
    expect(fs.readFileSync(path.join(ws, 'b.txt'), 'utf8')).toBe('b\n');
    // the first run's workspace is untouched, and a new spare is made for the run after
    expect(fs.existsSync(path.join(first.placement.workspace, 'b.txt'))).toBe(false);
    await sparesSettled();
    expect(fs.readFileSync(path.join(spare, 'b.txt'), 'utf8')).toBe('b\n');
  });

  test('SOP_SPARE_WORKTREES=0 keeps no spare; a bad value is refused by name', async () => {
    const root = path.join(scratch, 'root');
    const { provisionWorkspace } = createWorkspaceActivities({ workerQueue: 'q', workRoot: root });
    process.env.SOP_SPARE_WORKTREES = '0';
    try {
      await provisionWorkspace({ sop: 's', taskId: 'one', url: remote });
      await sparesSettled();
      expect(fs.existsSync(path.join(root, 'spares'))).toBe(false);
      process.env.SOP_SPARE_WORKTREES = 'yes';
      await expect(provisionWorkspace({ sop: 's', taskId: 'two', url: remote })).rejects.toThrow(
        /SOP_SPARE_WORKTREES/,
      );
    } finally {
      delete process.env.SOP_SPARE_WORKTREES;
    }
  });
});
