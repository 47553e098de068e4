import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { RunResult } from '../../src/model/run';
import { packageRoot } from '../../src/temporal/package-paths';
import { smallRepo } from '../support/ralph-scenarios';
import { connectForTest, type TemporalTestContext } from '../support/temporal';

// A `kind: sop` step in a repo.url run (the fleet): two real `sop worker` processes, each with its own HOME
// and SOP_WORK_ROOT (standing for separate machines), a bare git repository as the remote. The child run
// works in its parent's workspace on the parent's worker, commits nothing itself, and the parent's run
// branch holds the step (with the child's work) as one commit.

const sharedQueue = `fleet-calls-${randomUUID().slice(0, 8)}`;
// outside /tmp: sop worker refuses a work root there
const machines = fs.mkdtempSync(path.join(os.homedir(), '.sop-fleet-calls-test-'));
let ctx: TemporalTestContext;
let remote: string;
const workers: { child: ResultPromise; queue: string }[] = [];

function startWorker(name: string): Promise<{ child: ResultPromise; queue: string }> {
  const home = path.join(machines, name, 'home');
  fs.mkdirSync(home, { recursive: true });
  const child = execa(
    'node',
    [path.join(packageRoot, 'bin', 'sop.js'), 'worker', '--task-queue', sharedQueue],
    {
      cwd: home,
      env: {
        HOME: home,
        SOP_WORK_ROOT: path.join(machines, name, 'work'),
        SOP_WORKER_LOST_AFTER_MS: '10000',
      },
      stdin: 'ignore',
      reject: false,
    },
  );
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const queue = /its own queue (\S+)/.exec(log)?.[1];
      if (queue) resolve({ child, queue });
    });
    void child.then(() => reject(new Error(`sop worker ${name} exited: ${log}`)));
  });
}

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
    `    run: ${node("require('fs').writeFileSync('child.txt', process.cwd())")}`,
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
  const git = (...args: string[]) =>
    execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: seed });
  await git('add', '-A');
  await git('commit', '-qm', 'seed');
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-fleet-calls-remote-'));
  await execa('git', ['clone', '--quiet', '--bare', seed, bare]);
  await execa('git', ['tag', 'seed', 'HEAD'], { cwd: bare });
  return bare;
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

test('a repo.url run with a kind: sop step: the child works on the parent worker, the run branch holds its work once', async () => {
  const tasks = Array.from({ length: 4 }, (_, i) => `calls-${i}-${randomUUID().slice(0, 4)}`);
  const handles = await Promise.all(
    tasks.map((task) =>
      ctx.client.workflow.start('caller', {
        workflowId: `caller/${task}`,
        taskQueue: sharedQueue,
        args: [{ sop: 'caller', task, repo: { url: remote }, input: { request: `calls ${task}` } }],
      }),
    ),
  );
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
    const steps = await git(
      'log',
      '--reverse',
      '--format=%(trailers:key=Sop-Step,valueonly)',
      `seed..sop/caller/${task}`,
    );
    expect(steps.split('\n').filter((l) => l.trim())).toEqual(['call', 'check']);
    // the call step's commit holds the child's work, written in the parent's workspace
    const callCommit = (
      await git('log', '--format=%H', '--grep', ': call → completed', `sop/caller/${task}`)
    ).trim();
    expect(await git('diff-tree', '--no-commit-id', '--name-only', '-r', callCommit)).toContain('child.txt');
    expect((await git('show', `sop/caller/${task}:child.txt`)).trim()).toBe(placement.workspace);
    expect(await git('show', `sop/caller/${task}:checked.txt`)).toBe('ok');
  }
  // both workers served runs, each child on its own parent's worker
  expect(queues).toEqual(new Set(workers.map((w) => w.queue)));
}, 600_000);
