import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execaSync } from 'execa';
import { finish, makeWorkspace, plan, role, route, step } from '../support/plans';
import { runSop } from '../support/run-sop';
import { catalogProject } from '../support/sop-project';
import { connectForTest, type TemporalTestContext, withWorker } from '../support/temporal';

// Every start is a run request that a worker resolves from its catalog. `sop run -C DIR` serves the run
// with an in-process worker whose catalog is DIR, so a parent SOP and the child it calls come from the same
// folder; `sop run --no-worker` pins the run to the local SOP, and workers with another one refuse it,
// named on both sides. The SOPs here run command steps only: no harness, no model.

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

function gitRepo(): string {
  const dir = makeWorkspace('unused', 'unused').workspace;
  fs.rmSync(path.join(dir, '.sop'), { recursive: true, force: true });
  execaSync('git', ['add', '.'], { cwd: dir });
  execaSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init'], { cwd: dir });
  return dir;
}

const commandSop = (name: string, extra: string[] = []) =>
  [
    `name: ${name}`,
    ...extra,
    'input:',
    '  request: { type: string }',
    'steps:',
    '  mark:',
    '    kind: command',
    `    run: "echo ${name} > ${name}.txt"`,
    '    routes: { passed: finish, failed: { fail: "the command failed" } }',
    '',
  ].join('\n');

test('sop run -C DIR: a parent SOP calls a child SOP of the same folder, which the worker resolves from DIR', async () => {
  const suffix = randomUUID().slice(0, 6);
  const [parent, child] = [`parent_${suffix}`, `child_${suffix}`];
  const project = catalogProject('sop-start-', {
    [parent]: [
      `name: ${parent}`,
      'input:',
      '  request: { type: string }',
      'steps:',
      '  call:',
      `    sop: ${child}`,
      '    input: { request: "{{ input.request }}" }',
      '    routes: { completed: finish, failed: { fail: "the child failed" } }',
      '',
    ].join('\n'),
    [child]: commandSop(child),
  });
  const workspace = gitRepo();
  expect((await runSop(['validate', '-C', project])).exitCode).toBe(0);
  const result = await runSop(
    ['run', parent, 'go', '-C', project, '--workspace', workspace, '--task', 't1', '--json'],
    { env: { SOP_TASK_QUEUE: `start-${suffix}` }, timeoutMs: 120_000 },
  );
  expect({ exitCode: result.exitCode, stderr: result.stderr }).toMatchObject({ exitCode: 0 });
  expect(JSON.parse(String(result.stdout)).status).toBe('completed');
  // the child ran its command in the parent's workspace
  expect(fs.readFileSync(path.join(workspace, `${child}.txt`), 'utf8')).toBe(`${child}\n`);
  const shown = JSON.parse(String((await runSop(['runs', 'show', parent, 't1', '--json'])).stdout));
  expect(shown.children).toEqual([{ workflowId: `${parent}/t1/call`, step: 'call', status: 'completed' }]);

  // sop rerun -C DIR: the step calls the child again, resolved from the same folder
  fs.rmSync(path.join(workspace, `${child}.txt`));
  const rerun = await runSop(['rerun', parent, 't1', '--step', 'call', '-C', project, '--json'], {
    env: { SOP_TASK_QUEUE: `start-${suffix}` },
    timeoutMs: 120_000,
  });
  expect({ exitCode: rerun.exitCode, stderr: rerun.stderr }).toMatchObject({ exitCode: 0 });
  expect(fs.readFileSync(path.join(workspace, `${child}.txt`), 'utf8')).toBe(`${child}\n`);
}, 240_000);

test('sop run --no-worker: workers with another version of the SOP refuse the run, naming both versions', async () => {
  const suffix = randomUUID().slice(0, 6);
  const name = `versioned_${suffix}`;
  const here = catalogProject('sop-here-', { [name]: commandSop(name, ['version: 1']) });
  const theirs = catalogProject('sop-theirs-', { [name]: commandSop(name, ['version: 2']) });
  const workspace = gitRepo();
  await withWorker(
    ctx,
    async (taskQueue) => {
      const args = ['run', name, 'go', '-C', here, '--workspace', workspace, '--no-worker'];
      const refused = await runSop([...args, '--task', 'old'], { env: { SOP_TASK_QUEUE: taskQueue } });
      expect(refused.exitCode).toBe(1);
      const message = String(refused.stderr);
      expect(message).toMatch(
        new RegExp(
          `${name} here is not the one the workers on ${taskQueue} have, so the run was refused: here \\(${here}/sops/${name}\\) version 1, bundle [0-9a-f]{12}; worker \\S+: version 2, bundle [0-9a-f]{12}$`,
          'm',
        ),
      );
      expect(message).toContain("put this SOP in the workers' catalog");
      // nothing of theirs ran
      expect(fs.existsSync(path.join(workspace, `${name}.txt`))).toBe(false);

      // the same SOP on both sides runs on those workers
      const same = await runSop([...args.slice(0, 4), theirs, ...args.slice(5), '--task', 'same'], {
        env: { SOP_TASK_QUEUE: taskQueue },
      });
      expect(same.stdout).toContain(`${name}/same completed`);
    },
    { projectDir: theirs },
  );
}, 180_000);

test('a new run started with a compiled plan as its input is refused, naming the run request', async () => {
  const p = plan(`planned-${randomUUID().slice(0, 6)}`, [
    step('a', { agent: role('A.'), routes: [route('done', finish)] }),
  ]);
  const run = makeWorkspace(p.sop, 't1');
  await withWorker(ctx, async (taskQueue) => {
    const handle = await ctx.client.workflow.start(p.sop, {
      workflowId: `${p.sop}/t1`,
      taskQueue,
      args: [{ plan: p, run, input: { request: 'x' }, params: {}, engine: 3 }],
    });
    const error = await handle.result().catch((e: Error & { cause?: Error }) => e);
    expect((error as { cause?: Error }).cause?.message).toBe(
      'a plan compiled by the client is not accepted as a run\'s input; start the run with a run request ({"sop", "repo", "input"}), which a worker resolves from its catalog',
    );
  });
}, 60_000);
