import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { startModelServer } from '../../src/scripted-model/model-server';
import type { RunStatusView } from '../../src/shapes/messages';
import type { RunResult } from '../../src/shapes/run';
import { bareRemoteOf, type FleetWorker, startFleetWorker } from '../support/fleet-worker';
import { recordHistory } from '../support/histories';
import { smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';

// A fleet: real `sop worker` processes, each with its own HOME and SOP_WORK_ROOT (standing for separate
// machines), a bare git repository as the runs' remote, runs started by reference with repo.url. Every
// accepted step is a commit on the run branch in the remote; a worker killed mid-step loses its runs to
// another worker, which continues them from the last pushed commit.

const SOP = 'fleet-demo';
const sharedQueue = `fleet-${randomUUID().slice(0, 8)}`;
// outside /tmp: Codex refuses to work from there (and sop worker refuses such a work root)
const machines = fs.mkdtempSync(path.join(os.homedir(), '.sop-fleet-test-'));
let ctx: TemporalTestContext;
let model: Awaited<ReturnType<typeof startModelServer>>;
let remote: string;

const workers: FleetWorker[] = [];

/** A `sop worker` on a machine of its own; resolves once it polls both its queues. */
const startWorker = (name: string) =>
  startFleetWorker(machines, name, sharedQueue, {
    SOP_CODEX_BASE_URL: `${model.url}/v1`,
    SOP_WORKER_LOST_AFTER_MS: '10000',
    FLEET_BUILD_MS: '4000',
  });

/** The remote's seed: a repository holding the SOP in .sop/sops/ (the worker's catalog finds it there). */
async function seedRemote(): Promise<string> {
  const seed = await smallRepo('sop-fleet-seed-');
  const dir = path.join(seed, '.sop', 'sops', SOP);
  fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'prompts', 'note.md'), '# Write the fleet note\n\n{{ input.request }}\n');
  fs.writeFileSync(
    path.join(dir, 'sop.yaml'),
    [
      `name: ${SOP}`,
      'title: Write a note, then build',
      'version: 1',
      'input:',
      '  request: { type: string, minLength: 1 }',
      'defaults: { provider: codex, policy: edit }',
      'policies:',
      '  edit: { sandbox: workspace-write, network: none }',
      'steps:',
      '  note:',
      '    prompt: prompts/note.md',
      '    routes:',
      '      done: { to: build }',
      '  build:',
      `    run: node -e "setTimeout(() => require('fs').writeFileSync('built.txt', 'built'), Number(process.env.FLEET_BUILD_MS))"`,
      '    routes:',
      '      passed: { finish: true }',
      '',
    ].join('\n'),
  );
  return bareRemoteOf(seed, 'sop-fleet-remote-');
}

beforeAll(async () => {
  ctx = await connectForTest();
  model = await startModelServer({
    rules: [
      {
        match: '# Write the fleet note',
        runs: [
          [
            { write: { path: 'note.md', content: 'noted\n' } },
            { final: { route: 'done', summary: 'noted', details: '' } },
          ],
        ],
      },
    ],
  });
  remote = await seedRemote();
  workers.push(await startWorker('a'), await startWorker('b'));
}, 120_000);

afterAll(async () => {
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.child));
  await model?.close();
  await ctx?.close();
  fs.rmSync(machines, { recursive: true, force: true });
});

const start = (task: string) =>
  ctx.client.workflow.start(SOP, {
    workflowId: `${SOP}/${task}`,
    taskQueue: sharedQueue,
    args: [{ sop: SOP, task, repo: { url: remote }, input: { request: `Note for ${task}` } }],
  });

/** The run branch's commits in the remote, oldest first: the step each holds (git trailers). */
async function branchSteps(task: string): Promise<string[]> {
  const { stdout } = await execa(
    'git',
    ['log', '--reverse', '--format=%(trailers:key=Sop-Step,valueonly)', `seed..sop/${SOP}/${task}`],
    { cwd: remote, reject: false },
  );
  return String(stdout)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

test('ten repo.url runs spread over two workers all complete, each run branch holding its steps as commits', async () => {
  const tasks = Array.from({ length: 10 }, (_, i) => `spread-${i}-${randomUUID().slice(0, 4)}`);
  const handles = await Promise.all(tasks.map(start));
  const results = (await Promise.all(handles.map((h) => h.result()))) as RunResult[];

  const queues = results.map((r) => r.placement?.queue);
  const [a, b] = workers;
  for (const queue of queues) expect([a.queue, b.queue]).toContain(queue);
  // the work spread: both workers served runs
  expect(new Set(queues).size).toBe(2);
  for (const [i, task] of tasks.entries()) {
    expect(results[i].routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual(['note:done', 'build:passed']);
    expect(await branchSteps(task)).toEqual(['note', 'build']);
    // the remote's run branch holds what the steps did
    const files = await execa('git', ['ls-tree', '-r', '--name-only', `sop/${SOP}/${task}`], { cwd: remote });
    expect(String(files.stdout).split('\n')).toEqual(expect.arrayContaining(['note.md', 'built.txt']));
    expect(results[i].placement?.head).toBe(
      String((await execa('git', ['rev-parse', `sop/${SOP}/${task}`], { cwd: remote })).stdout).trim(),
    );
  }
  await recordHistory(handles[0], 'request-fleet-url');
  // sop runs show names the run branch and its last commit
  const shown = await runSop(['runs', 'show', SOP, tasks[0]]);
  expect(shown.exitCode).toBe(0);
  expect(shown.stdout).toContain(
    `branch sop/${SOP}/${tasks[0]} at ${results[0].placement?.head.slice(0, 12)} on ${remote}`,
  );
}, 600_000);

test('a worker killed with SIGKILL mid-step: its runs finish on the other worker, each accepted step committed once', async () => {
  const tasks = Array.from({ length: 4 }, (_, i) => `kill-${i}-${randomUUID().slice(0, 4)}`);
  const handles = await Promise.all(tasks.map(start));
  // kill a worker once one of its runs is in its build step (the note step accepted and pushed)
  const { onVictim, victim } = await eventually(async () => {
    for (const h of handles) {
      const status = await h.query<RunStatusView>('status').catch(() => undefined);
      const worker = workers.find((w) => w.queue === status?.placement?.queue);
      if (worker && status?.active.some((s) => s.step === 'build'))
        return { onVictim: h.workflowId, victim: worker };
    }
    return undefined;
  }, 300_000);
  const survivor = workers.find((w) => w !== victim)!;
  victim.child.kill('SIGKILL');
  await victim.child;

  const results = (await Promise.all(handles.map((h) => h.result()))) as RunResult[];
  for (const [i, task] of tasks.entries()) {
    expect(results[i].placement?.queue).toBe(survivor.queue);
    expect(results[i].routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual(['note:done', 'build:passed']);
    // each accepted step's commit is in the remote exactly once
    expect(await branchSteps(task)).toEqual(['note', 'build']);
  }
  const movedHandle = handles.find((h) => h.workflowId === onVictim)!;
  await recordHistory(movedHandle, 'request-fleet-url-moved');
  const moved = results[handles.indexOf(movedHandle)];
  expect(moved.placement?.provisions).toBe(2);
  const shown = await runSop(['runs', 'show', SOP, onVictim.slice(SOP.length + 1)]);
  expect(shown.stdout).toContain(`worker ${os.hostname()} (queue ${survivor.queue}, moved 1 time(s))`);
}, 600_000);
