import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import type { ArtifactSpec, RoleSpec } from '../../src/shapes/execution-plan';
import { finish, plan, role, route, step, to } from '../support/plans';
import { ScriptedRunner } from '../support/scripted-runner';
import { connectForTest, type TemporalTestContext } from '../support/temporal';
import { runScripted } from '../support/workflow-tier';

// Worklist items run with concurrency > 1 each work in a git worktree of their own and are merged back when
// accepted (the runtime's activities, with the scripted harness writing real files in the worktree).
// test/temporal/parallel-worktrees.temporal.test.ts has the real Codex binary resolve a merge conflict.

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

const work: ArtifactSpec = {
  name: 'work',
  kind: 'json',
  path: '{{ run.folder }}/work.json',
  required: false,
};
const review: ArtifactSpec = {
  name: 'review',
  kind: 'md',
  path: '{{ run.folder }}/items/{{ item.key }}/review.md',
  required: false,
};
const reviewer: RoleSpec = {
  ...role('Review item {{ item.title }} now.', ['review']),
  policy: { sandbox: 'workspace-write', allow_write: ['.sop/'] },
};

/** A plan step writing the worklist, then items implemented (producer) and reviewed (verifier), N at once. */
const parallelPlan = (concurrency: number) =>
  plan(
    'parallel',
    [
      step('plan', {
        agent: role('Plan the items.', ['work']),
        routes: [route('planned', to('implement'), ['work'])],
      }),
      step('implement', {
        kind: 'produce_verify',
        forEach: { worklist: 'items', concurrency },
        producer: role('Implement item {{ item.title }} now.'),
        verifier: reviewer,
        maxRework: 2,
        routes: [
          route('accepted', { kind: 'advance', exhausted: finish }, ['review']),
          route('needs_rework', to('implement'), ['review']),
        ],
      }),
    ],
    {
      artifacts: [work, review],
      worklists: [
        { name: 'items', from: 'work', collection: 'items', id: 'id', title: 'title', status: 'status' },
      ],
    },
  );

/** A committed git repository; returns it and its HEAD. */
async function repo(files: Record<string, string>): Promise<{ workspace: string; head: string }> {
  const workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-parallel-ws-')));
  for (const [name, text] of Object.entries({ 'README.md': 'a repo\n', ...files })) {
    fs.mkdirSync(path.dirname(path.join(workspace, name)), { recursive: true });
    fs.writeFileSync(path.join(workspace, name), text);
  }
  const git = (...args: string[]) =>
    execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: workspace });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('commit', '-qm', 'first');
  return { workspace, head: (await git('rev-parse', 'HEAD')).stdout.trim() };
}

const gitIn = async (workspace: string, ...args: string[]) =>
  (await execa('git', args, { cwd: workspace })).stdout.trim();

interface Line {
  step: string;
  item: string | null;
  role: string;
  path: string;
  worktree?: { path: string; branch: string; base: string };
}

test('6 items with concurrency 3 overlap in worktrees of their own, all merged, each write audited on its own', async () => {
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  const runner = new ScriptedRunner({
    'plan/agent': [
      {
        route: 'planned',
        write: {
          '{{ run.folder }}/work.json': { items: ids.map((id) => ({ id, title: id, status: 'todo' })) },
        },
      },
    ],
    // the pause keeps each item running while the others start
    'implement/producer': (call) => ({
      write: { [`src/${call.item}.txt`]: `item ${call.item}\n` },
      delayMs: 2_000,
    }),
    'implement/verifier': [
      {
        route: 'accepted',
        write: { '{{ run.folder }}/items/{{ item.key }}/review.md': 'Verdict: accepted\n' },
      },
    ],
  });
  const { workspace, head } = await repo({ 'src/keep.txt': 'kept\n' });
  const { result, run, error } = await runScripted(ctx, parallelPlan(3), runner, {}, workspace);
  expect(error?.cause?.message ?? error?.message).toBeUndefined();
  expect(result?.status).toBe('completed');

  // every item's file is in the workspace; the user's branch, HEAD and index are untouched
  for (const id of ids)
    expect(fs.readFileSync(path.join(workspace, 'src', `${id}.txt`), 'utf8')).toBe(`item ${id}\n`);
  expect(await gitIn(workspace, 'rev-parse', 'HEAD')).toBe(head);
  expect(await gitIn(workspace, 'diff', '--cached', '--name-only')).toBe('');
  expect(
    (await gitIn(workspace, 'status', '--porcelain', '--untracked-files=all', 'src')).split('\n').sort(),
  ).toEqual(ids.map((id) => `?? src/${id}.txt`));
  // merged worktrees and their branches are gone
  expect(await gitIn(workspace, 'worktree', 'list', '--porcelain')).not.toContain('.sop/worktrees');
  expect(await gitIn(workspace, 'branch', '--list', 'sop/*')).toBe('');

  const lines = (
    fs.readFileSync(path.join(run.runFolder, 'executions.jsonl'), 'utf8').split('\n') as string[]
  )
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.step === 'implement');
  expect(lines).toHaveLength(12);
  const evidenceOf = (line: Line) =>
    JSON.parse(fs.readFileSync(path.join(run.runFolder, line.path, 'evidence.json'), 'utf8'));
  // each item's producer and verifier worked in the item's own worktree, and say so
  for (const id of ids) {
    const ofItem = lines.filter((l) => l.item === id);
    expect(ofItem.map((l) => l.role).sort()).toEqual(['producer', 'verifier']);
    const [first, second] = ofItem.map((l) => l.worktree);
    expect(first).toEqual(second);
    expect(first?.branch).toBe(`sop/parallel/${run.taskId}--implement-${id}`);
    expect(first?.path).toBe(path.join('.sop', 'worktrees', 'parallel', run.taskId, `implement-${id}`));
    for (const line of ofItem) expect(evidenceOf(line).worktree).toEqual(first);
  }

  // overlapping in time, never more than three items at once
  const producers = runner.calls.filter((c) => c.step === 'implement' && c.role === 'producer');
  const runningAt = (t: number) => producers.filter((c) => c.startedAt <= t && t < c.endedAt).length;
  const peak = Math.max(...producers.map((c) => runningAt(c.startedAt)));
  expect(peak).toBeGreaterThanOrEqual(2);
  expect(peak).toBeLessThanOrEqual(3);

  // the write audit, per worktree: each producer wrote its own file and nothing else; no violations
  for (const line of lines) {
    const evidence = evidenceOf(line);
    expect(evidence.violations).toEqual([]);
    expect(evidence.writes.files.paths).toEqual(line.role === 'producer' ? [`src/${line.item}.txt`] : []);
  }
});
