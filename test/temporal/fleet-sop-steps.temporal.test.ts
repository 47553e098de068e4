import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { execa } from 'execa';
import type { RunStatusView } from '../../src/shapes/messages';
import type { RunResult } from '../../src/shapes/run';
import { bareRemoteOf, type FleetWorker, startFleetWorker } from '../support/fleet-worker';
import { smallRepo } from '../support/ralph-scenarios';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';

// A `kind: sop` step in a repo.url run (the fleet): two real `sop worker` processes, each with its own HOME
// and SOP_WORK_ROOT (standing for separate machines), a bare git repository as the remote. The child run
// works in its parent's workspace on the parent's worker, commits nothing itself, and the parent's run
// branch holds the step (with the child's work) as one commit.

const sharedQueue = `fleet-calls-${randomUUID().slice(0, 8)}`;
// outside /tmp: sop worker refuses a work root there
const machines = fs.mkdtempSync(path.join(os.homedir(), '.sop-fleet-calls-test-'));
let ctx: TemporalTestContext;
let remote: string;
const workers: FleetWorker[] = [];

/** A `sop worker` on a machine of its own; resolves once it polls both its queues. */
const startWorker = (name: string) =>
  startFleetWorker(machines, name, sharedQueue, { SOP_WORKER_LOST_AFTER_MS: '10000', CHILD_MS: '3000' });

const node = (script: string) => `node -e "${script}"`;

/** The remote's seed: `caller` (a kind: sop step calling `callee`, then a check) and `callee` in .sop/sops. */
async function seedRemote(): Promise<string> {
  const seed = await smallRepo('sop-fleet-calls-seed-');
  const sop = (name: string, lines: string[]) => {
    fs.mkdirSync(path.join(seed, '.sop', 'sops', name), { recursive: true });
    fs.writeFileSync(
      path.join(seed, '.sop', 'sops', name, 'sop.yaml'),
      [`name: ${name}`, ...lines, ''].join('\n'),
    );
  };
  sop('callee', [
    'input:',
    '  request: { type: string }',
    'steps:',
    '  write:',
    // takes a few seconds (a worker can be killed while it runs)
    `    run: ${node("setTimeout(() => require('fs').writeFileSync('child.txt', process.cwd()), Number(process.env.CHILD_MS))")}`,
    '    routes:',
    '      passed: { finish: true }',
  ]);
  sop('caller', [
    'input:',
    '  request: { type: string }',
    'steps:',
    '  call:',
    '    sop: callee',
    '    input: { request: "{{ input.request }} (from caller)" }',
    '    routes:',
    '      completed: check',
    // the child's file is in this run's workspace
    '  check:',
    `    run: ${node("require('fs').readFileSync('child.txt'); require('fs').writeFileSync('checked.txt', 'ok')")}`,
    '    routes:',
    '      passed: { finish: true }',
  ]);
  return bareRemoteOf(seed, 'sop-fleet-calls-remote-');
}

beforeAll(async () => {
  ctx = await connectForTest();
  remote = await seedRemote();
  workers.push(await startWorker('a'), await startWorker('b'));
}, 120_000);

afterAll(async () => {
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.child));
  await ctx?.close();
  fs.rmSync(machines, { recursive: true, force: true });
});

const git = async (...args: string[]) => String((await execa('git', args, { cwd: remote })).stdout);

const start = (task: string) =>
  ctx.client.workflow.start('caller', {
    workflowId: `caller/${task}`,
    taskQueue: sharedQueue,
    args: [{ sop: 'caller', task, repo: { url: remote }, input: { request: `calls ${task}` } }],
  });

/** The run branch's commits in the remote, oldest first: the step each holds (git trailers). */
const branchSteps = async (task: string) =>
  (await git('log', '--reverse', '--format=%(trailers:key=Sop-Step,valueonly)', `seed..sop/caller/${task}`))
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

test('a repo.url run with a kind: sop step: the child works on the parent worker, the run branch holds its work once', async () => {
  const tasks = Array.from({ length: 6 }, (_, i) => `calls-${i}-${randomUUID().slice(0, 4)}`);
  const handles = await Promise.all(tasks.map(start));
  const results = (await Promise.all(handles.map((h) => h.result()))) as RunResult[];
  const queues = new Set<string>();
  for (const [i, task] of tasks.entries()) {
    const result = results[i];
    expect(result.status).toBe('completed');
    expect(result.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual(['call:completed', 'check:passed']);
    const placement = result.placement!;
    queues.add(placement.queue);
    // the child ran on the parent's worker, in the parent's workspace
    const child = (await ctx.client.workflow.getHandle(`caller/${task}/call`).result()) as RunResult;
    expect(child.status).toBe('completed');
    expect(child.placement?.queue).toBe(placement.queue);
    expect(child.placement?.workspace).toBe(placement.workspace);
    // each accepted step of the parent is one commit; the child made none of its own
    expect(await branchSteps(task)).toEqual(['call', 'check']);
    // the call step's commit holds the child's work, written in the parent's workspace
    const callCommit = (
      await git('log', '--format=%H', '--grep', ': call → completed', `sop/caller/${task}`)
    ).trim();
    expect(await git('diff-tree', '--no-commit-id', '--name-only', '-r', callCommit)).toContain('child.txt');
    expect((await git('show', `sop/caller/${task}:child.txt`)).trim()).toBe(placement.workspace);
    expect(await git('show', `sop/caller/${task}:checked.txt`)).toBe('ok');
  }
  // runs on either worker; each child ran on its own parent's worker (above)
  for (const queue of queues) expect(workers.map((w) => w.queue)).toContain(queue);
}, 600_000);

test('the parent worker killed while the child runs: the run moves, the step runs a new child there, committed once', async () => {
  const task = `lost-${randomUUID().slice(0, 4)}`;
  const handle = await start(task);
  const childId = `caller/${task}/call`;
  // kill the parent's worker once the child runs its (slow) step there
  const victim = await eventually(async () => {
    const status = await handle.query<RunStatusView>('status').catch(() => undefined);
    const worker = workers.find((w) => w.queue === status?.placement?.queue);
    const child = await ctx.client.workflow
      .getHandle(childId)
      .query<RunStatusView>('status')
      .catch(() => undefined);
    return worker && child?.active.some((s) => s.step === 'write') ? worker : undefined;
  }, 300_000);
  const survivor = workers.find((w) => w !== victim)!;
  victim.child.kill('SIGKILL');
  await victim.child;

  const result = (await handle.result()) as RunResult;
  expect(result.status).toBe('completed');
  expect(result.placement?.queue).toBe(survivor.queue);
  expect(result.placement?.provisions).toBe(2);
  expect(result.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual(['call:completed', 'check:passed']);
  // the child that ran on the lost worker failed; the step started a new one on the survivor
  // (visibility lags a little behind the runs)
  const runs = await eventually(async () => {
    const found: { status: string; runId: string }[] = [];
    for await (const run of ctx.client.workflow.list({ query: `WorkflowId = '${childId}'` }))
      found.push({ status: run.status.name, runId: run.runId });
    return found.length >= 2 ? found : undefined;
  }, 60_000);
  expect(runs.map((r) => r.status).sort()).toEqual(['COMPLETED', 'FAILED']);
  // the failed one says why
  const lost = runs.find((r) => r.status === 'FAILED')!;
  const failure = await ctx.client.workflow
    .getHandle(childId, lost.runId)
    .result()
    .catch((err: Error) => err);
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  expect((failure as WorkflowFailedError).cause?.message).toContain(
    `(${victim.queue}), which holds the calling run's workspace, was lost`,
  );
  const child = (await ctx.client.workflow.getHandle(childId).result()) as RunResult;
  expect(child.placement?.queue).toBe(survivor.queue);
  // each accepted step's commit is in the remote exactly once, the call step's holding the child's work
  expect(await branchSteps(task)).toEqual(['call', 'check']);
  expect((await git('show', `sop/caller/${task}:child.txt`)).trim()).toBe(result.placement?.workspace);
}, 600_000);
