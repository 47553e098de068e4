import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResultPromise } from 'execa';
import type { SensorStatus } from '../../src/workflows/sensor';
import { runSop } from '../support/run-sop';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';
import {
  completedRun,
  endSensorTest,
  gitInit,
  runIdsOf,
  startSopWorker,
  triggerProject,
} from '../support/trigger-project';

// A `poll:` trigger is a sensor workflow started by `sop triggers sync`: it polls a JSON list (here a file
// the test appends to) and starts one run per new item, exactly once, also when the worker is killed
// (SIGKILL) and another one started between polls. Real dev server, real `sop worker` processes.

const sop = `intake-${randomUUID().slice(0, 6)}`;
const body = (triggers: string) => `name: ${sop}
input:
  request: { type: string }
${triggers}steps:
  handle:
    run: "echo handled >> handled.log"
    routes: { passed: finish }
`;
const project = triggerProject(
  sop,
  body(
    'triggers:\n  inbox:\n    poll: { command: "cat items.json", every: 2s, item_id: id }\n    input: { request: "{{ item.title }}" }\n',
  ),
);
const items = path.join(project.dir, 'items.json');
const writeItems = (ids: string[]) =>
  fs.writeFileSync(items, JSON.stringify(ids.map((id) => ({ id, title: `item ${id}` }))));
const env = { SOP_TASK_QUEUE: project.taskQueue };
const sopCli = (args: string[]) => runSop(args, { env, cwd: project.dir, timeoutMs: 120_000 });
const json = (r: { stdout: unknown }) => JSON.parse(String(r.stdout));
const sensorId = `sop-sensor/${sop}/inbox`;

let ctx: TemporalTestContext;
let worker: ResultPromise | undefined;
beforeAll(async () => {
  ctx = await connectForTest();
  await gitInit(project.dir);
  writeItems(['a']);
  worker = (await startSopWorker(project.dir, project.taskQueue)).child;
}, 120_000);
afterAll(async () => {
  await endSensorTest(ctx, sensorId, worker);
});

const runIds = () => runIdsOf(ctx.client, sop);
const completed = (id: string) => completedRun(ctx.client, id);
const status = () => ctx.client.workflow.getHandle(sensorId).query<SensorStatus>('sensorStatus');

test('each new item starts one run, also across a killed worker; sync is idempotent and stops a removed sensor', async () => {
  const synced = await sopCli(['triggers', 'sync', '-C', project.dir, '--json']);
  expect(json(synced)).toEqual([{ trigger: `${sop}.inbox`, kind: 'poll', id: sensorId, action: 'started' }]);
  await eventually(() => completed(`${sop}/inbox-a`), 90_000);

  writeItems(['a', 'b']);
  await eventually(() => completed(`${sop}/inbox-b`), 90_000);
  // what started the run: the sensor and the polled item; a sensor's runs are listed like any run
  const shown = json(await sopCli(['runs', 'show', `${sop}/inbox-b`, '--json']));
  expect(shown.startedBy).toMatchObject({
    kind: 'sensor',
    sensor: sensorId,
    trigger: `${sop}.inbox`,
    item: 'b',
  });
  const text = String((await sopCli(['runs', 'show', `${sop}/inbox-b`])).stdout);
  expect(text).toContain(`started by sensor ${sop}.inbox (${sensorId}), item b`);
  const rows = json(await sopCli(['runs', 'list', '--sop', sop, '--json'])) as Array<{ taskId: string }>;
  expect(rows.map((r) => r.taskId)).toEqual(expect.arrayContaining(['inbox-a', 'inbox-b']));
  expect(json(await sopCli(['triggers', 'sync', '-C', project.dir, '--json']))).toEqual([
    { trigger: `${sop}.inbox`, kind: 'poll', id: sensorId, action: 'unchanged' },
  ]);

  // the worker dies between polls; items arrive while no worker runs; another worker takes over
  worker?.kill('SIGKILL');
  await worker;
  worker = undefined;
  writeItems(['a', 'b', 'c', 'd']);
  worker = (await startSopWorker(project.dir, project.taskQueue)).child;
  await eventually(() => completed(`${sop}/inbox-c`), 90_000);
  await eventually(() => completed(`${sop}/inbox-d`), 90_000);

  // later polls see the same items and start nothing more
  const polls = (await status()).polls;
  await eventually(async () => ((await status()).polls >= polls + 2 ? true : undefined), 60_000);
  expect(await runIds()).toEqual([`${sop}/inbox-a`, `${sop}/inbox-b`, `${sop}/inbox-c`, `${sop}/inbox-d`]);
  expect(fs.readFileSync(path.join(project.dir, 'handled.log'), 'utf8')).toBe('handled\n'.repeat(4));
  const seen = await status();
  expect(seen).toMatchObject({ fired: 4, seen: ['a', 'b', 'c', 'd'], lastRun: `${sop}/inbox-d` });
  expect(seen.lastError).toBeUndefined();

  const listed = json(await sopCli(['triggers', 'list', '-C', project.dir, '--json']));
  expect(listed).toEqual([
    expect.objectContaining({
      trigger: `${sop}.inbox`,
      kind: 'poll',
      state: 'running',
      inSync: true,
      errors: [],
    }),
  ]);
  expect(Date.parse(listed[0].nextFire)).not.toBeNaN();

  project.write(body(''));
  expect(json(await sopCli(['triggers', 'sync', '-C', project.dir, '--json']))).toEqual([
    expect.objectContaining({ trigger: `${sop}.inbox`, kind: 'poll', action: 'stopped' }),
  ]);
  expect((await ctx.client.workflow.getHandle(sensorId).describe()).status.name).toBe('TERMINATED');
}, 400_000);
