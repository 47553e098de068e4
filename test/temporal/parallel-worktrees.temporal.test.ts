import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import type { Reply, Rule } from '../../src/scripted-model/scenario';
import { routeNames } from '../support/ralph-scenarios';
import { runProjectSop, sopProject } from '../support/sop-project';

// Issue 12 part 6: worklist items run with concurrency > 1 each work in a git worktree of their own,
// are merged back when accepted, and a merge conflict goes back to the producer. `sop run` as a user runs
// it, the real Codex binary against the scripted model server. Six items three at once, merged and audited
// per worktree, are in test/workflows/worktrees.workflow.test.ts (the scripted harness).

let model: ModelServer | undefined;
afterEach(async () => {
  await model?.close();
  model = undefined;
});

/** A plan step writing the worklist, then items implemented (producer) and reviewed (verifier), N at once. */
const parallelSop = (concurrency: number) =>
  sopProject(
    'parallel',
    [
      'input:',
      '  request: { type: string, default: go }',
      'defaults: { policy: edit }',
      'policies:',
      '  edit: { sandbox: workspace-write }',
      '  review: { sandbox: workspace-write, allow_write: [.sop/] }',
      'artifacts:',
      '  work: { kind: json, path: "{{ run.folder }}/work.json" }',
      '  review: { kind: md, path: "{{ run.folder }}/items/{{ item.key }}/review.md" }',
      'worklists:',
      '  items: { from: work, collection: items, id: id, title: title, status: status }',
      'steps:',
      '  plan:',
      '    prompt: prompts/plan.md',
      '    writes: [work]',
      '    routes:',
      '      planned: { to: implement, requires: [work] }',
      '  implement:',
      '    kind: produce_verify',
      '    for_each: items',
      `    concurrency: ${concurrency}`,
      '    producer: { prompt: prompts/implement.md }',
      '    verifier: { prompt: prompts/review.md, writes: [review], policy: review }',
      '    routes:',
      '      accepted: { complete_and_advance: true, exhausted: finish, requires: [review] }',
      '      needs_rework: { to: implement, requires: [review] }',
      '    max_rework: 2',
    ],
    {
      'plan.md': 'Plan the items.',
      'implement.md': 'Implement item {{ item.title }} now.',
      'review.md': 'Review item {{ item.title }} now.',
    },
  );

const planRule = (ids: string[]): Rule => ({
  match: 'Plan the items.',
  runs: [
    [
      {
        write: {
          path: '{{ run_folder }}/work.json',
          content: `${JSON.stringify({ items: ids.map((id) => ({ id, title: id, status: 'todo' })) })}\n`,
        },
      },
      { final: { route: 'planned', summary: 'planned', details: '' } },
    ],
  ],
});
const produced: Reply = { final: { route: 'done', summary: 'done', details: '' } };
/** the verifier of item `id` writes its review and accepts */
const reviewRule = (id: string): Rule => ({
  match: `Review item ${id} now.`,
  runs: [
    [
      { write: { path: `{{ run_folder }}/items/${id}/review.md`, content: 'Verdict: accepted\n' } },
      { final: { route: 'accepted', summary: 'fine', details: '' } },
    ],
  ],
});

/** A committed git repository; returns it and its HEAD. */
async function repo(files: Record<string, string>): Promise<{ workspace: string; head: string }> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-parallel-ws-'));
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

interface Line {
  step: string;
  item: string | null;
  role: string;
  startedAt: string;
  durationMs: number;
  path: string;
  accepted: boolean;
  worktree?: { path: string; branch: string; base: string };
}
const executions = (runFolder: string): Line[] =>
  fs
    .readFileSync(path.join(runFolder, 'executions.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const evidenceOf = (runFolder: string, line: Line) =>
  JSON.parse(fs.readFileSync(path.join(runFolder, line.path, 'evidence.json'), 'utf8'));

test('two items editing the same lines: the conflict reaches the producer prompt and its rework resolves it', async () => {
  const resolved = 'greeting from x\ngreeting from y\n';
  const edit = (id: string): Rule => ({
    match: `Implement item ${id} now.`,
    runs: [
      [{ write: { path: 'shared.txt', content: `greeting from ${id}\n` } }, { shell: 'sleep 5' }, produced],
      // the rework after the conflict: both sides kept
      [{ write: { path: 'shared.txt', content: resolved } }, produced],
    ],
  });
  model = await startModelServer({
    rules: [planRule(['x', 'y']), edit('x'), edit('y'), reviewRule('x'), reviewRule('y')],
  });
  const { workspace } = await repo({ 'shared.txt': 'greeting\n' });
  const result = await runProjectSop('parallel', parallelSop(2), workspace, {
    modelUrl: model.url,
    task: 'conflict',
  });
  expect(result.exitCode).toBe(0);
  const out = JSON.parse(String(result.stdout));
  expect(out.status).toBe('completed');
  expect(fs.readFileSync(path.join(workspace, 'shared.txt'), 'utf8')).toBe(resolved);

  // one item merged first; the other went back to its producer once with the conflict
  const conflicted = (out.result.routesTaken as Array<{ item: string; route: string }>).filter(
    (r) => r.route === 'merge_conflict',
  );
  expect(conflicted).toHaveLength(1);
  const reworked = conflicted[0].item;
  expect(routeNames(out.result.routesTaken)).toContain(`implement:${reworked}:merge_conflict`);
  expect(['x', 'y']).toContain(reworked);

  // the prompt the model received for that producer's rework names the file and the conflict
  const reworkPrompts = model.requests.filter(
    (r) =>
      r.position === 0 &&
      r.text?.includes(`Implement item ${reworked} now.`) &&
      r.text.includes('conflicted'),
  );
  expect(reworkPrompts).toHaveLength(1);
  expect(reworkPrompts[0].text).toContain('The runtime sent the work back (rework 1 of 2)');
  expect(reworkPrompts[0].text).toContain('changed the same lines of `shared.txt`');
  expect(reworkPrompts[0].text).toContain('conflict markers');
  // the other item's producer never saw a conflict
  const other = reworked === 'x' ? 'y' : 'x';
  expect(
    model.requests.filter(
      (r) => r.text?.includes(`Implement item ${other} now.`) && r.text.includes('conflicted'),
    ),
  ).toHaveLength(0);

  // the reworked item: producer, verifier, producer, verifier, all in one worktree, none with violations
  const lines = executions(out.runFolder).filter((l) => l.step === 'implement' && l.item === reworked);
  expect(lines.map((l) => l.role)).toEqual(['producer', 'verifier', 'producer', 'verifier']);
  expect(new Set(lines.map((l) => l.worktree?.branch))).toEqual(
    new Set([`sop/parallel/conflict--implement-${reworked}`]),
  );
  for (const line of lines) expect(evidenceOf(out.runFolder, line).violations).toEqual([]);
}, 300_000);
