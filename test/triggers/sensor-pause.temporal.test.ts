import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { temporalDir } from '../../src/temporal/package-paths';
import type { SensorStatus } from '../../src/workflows/sensor';
import { recordHistory } from '../support/histories';
import { runSop } from '../support/run-sop';
import { connectForTest, eventually, type TemporalTestContext, testTarget } from '../support/temporal';
import {
  completedRun,
  endSensorTest,
  gitInit,
  runIdsOf,
  startSopWorker,
  triggerProject,
} from '../support/trigger-project';

// A sensor is paused and unpaused with `sop triggers pause|unpause` (a signal to its workflow, checked
// like every signal); malformed `sensorReconfigure` and `sensorPause` signals sent with the real
// `temporal` CLI are ignored with the reason in the worker's log, and the sensor keeps polling and
// starting runs. Real dev server, real `sop worker`.

const sop = `inbox-${randomUUID().slice(0, 6)}`;
const project = triggerProject(
  sop,
  `name: ${sop}
input:
  request: { type: string }
triggers:
  inbox:
    poll: { command: "cat items.json", every: 2s, item_id: id }
    input: { request: "{{ item.title }}" }
steps:
  handle:
    run: "echo handled >> handled.log"
    routes: { passed: finish }
`,
);
const writeItems = (ids: string[]) =>
  fs.writeFileSync(
    path.join(project.dir, 'items.json'),
    JSON.stringify(ids.map((id) => ({ id, title: `item ${id}` }))),
  );
const sopCli = (args: string[]) =>
  runSop(args, { env: { SOP_TASK_QUEUE: project.taskQueue }, cwd: project.dir, timeoutMs: 120_000 });
const json = (r: { stdout: unknown }) => JSON.parse(String(r.stdout));
const sensorId = `sop-sensor/${sop}/inbox`;
/** the real `temporal` CLI, as any operator or script would use it */
const temporal = (args: string[]) =>
  execa(path.join(temporalDir, 'bin', 'temporal'), [...args, '--address', testTarget().address], {
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  });
const signal = (name: string, input?: string) =>
  temporal([
    'workflow',
    'signal',
    '--workflow-id',
    sensorId,
    '--name',
    name,
    ...(input !== undefined ? ['--input', input] : []),
  ]);

let ctx: TemporalTestContext;
let worker: Awaited<ReturnType<typeof startSopWorker>> | undefined;
let child: ResultPromise | undefined;
beforeAll(async () => {
  ctx = await connectForTest();
  await gitInit(project.dir);
  writeItems(['a']);
  worker = await startSopWorker(project.dir, project.taskQueue);
  child = worker.child;
}, 120_000);
afterAll(async () => {
  await endSensorTest(ctx, sensorId, child);
});

const status = () => ctx.client.workflow.getHandle(sensorId).query<SensorStatus>('sensorStatus');
const completed = (id: string) => completedRun(ctx.client, id);
const listed = async () => json(await sopCli(['triggers', 'list', '-C', project.dir, '--json']))[0];

test('malformed sensorReconfigure and sensorPause signals from the temporal CLI are ignored with a logged reason; the sensor keeps polling and starting runs', async () => {
  expect(json(await sopCli(['triggers', 'sync', '-C', project.dir, '--json']))).toEqual([
    { trigger: `${sop}.inbox`, kind: 'poll', id: sensorId, action: 'started' },
  ]);
  await eventually(() => completed(`${sop}/inbox-a`), 90_000);

  for (const [name, input] of [
    ['sensorReconfigure', '{"trigger": {"kind": "cron"}}'],
    ['sensorReconfigure', '"nope"'],
    ['sensorReconfigure', undefined],
    ['sensorPause', '{"paused": "yes"}'],
    ['sensorPause', '{"pause": true}'],
  ] as const) {
    const sent = await signal(name, input);
    expect(sent.exitCode).toBe(0);
  }
  await eventually(
    async () =>
      worker?.log().includes('ignored sensorPause signal: pause has unknown field') ? true : undefined,
    60_000,
  );
  const log = worker?.log() ?? '';
  expect(log).toContain('ignored sensorReconfigure signal: config.trigger.kind must be one of "poll"');
  expect(log).toContain('ignored sensorReconfigure signal: config must be an object, not the string "nope"');
  expect(log).toContain('ignored sensorReconfigure signal: config is required');
  expect(log).toContain('ignored sensorPause signal: pause.paused must be a boolean, not the string "yes"');

  // still polling, not paused, and a new item still starts its run
  writeItems(['a', 'b']);
  await eventually(() => completed(`${sop}/inbox-b`), 90_000);
  const after = await status();
  expect(after.paused).toBeUndefined();
  expect(after.lastError).toBeUndefined();
  expect(await listed()).toMatchObject({ state: 'running', inSync: true, errors: [] });
}, 240_000);

test('sop triggers pause stops a sensor polling (list and show say paused); unpause resumes it and the item that arrived meanwhile starts once', async () => {
  const paused = await sopCli(['triggers', 'pause', `${sop}/inbox`, '--note', 'release freeze']);
  expect(paused.stderr).toBe('');
  expect(paused.exitCode).toBe(0);
  expect(String(paused.stdout).trim()).toBe(`pause: ${sensorId}`);
  const row = await listed();
  expect(row).toMatchObject({ kind: 'poll', state: 'paused (release freeze)', errors: [] });
  expect(row.nextFire).toBeUndefined();
  const show = await sopCli(['triggers', 'show', `${sop}/inbox`, '-C', project.dir]);
  expect(show.exitCode).toBe(0);
  expect(String(show.stdout)).toMatch(/^state {5}paused \(release freeze\)$/m);
  expect(String(show.stdout)).toMatch(/^spec {6}command "cat items\.json", every 2s, item_id id$/m);

  // an item arrives while paused: no poll takes it over several intervals
  writeItems(['a', 'b', 'c']);
  const polls = (await status()).polls;
  await new Promise((resolve) => setTimeout(resolve, 8_000));
  expect((await status()).polls).toBe(polls);
  expect(await runIdsOf(ctx.client, sop)).toEqual([`${sop}/inbox-a`, `${sop}/inbox-b`]);
  // pausing twice is harmless; the sensor stays paused with the latest note
  expect((await sopCli(['triggers', 'pause', `${sop}/inbox`, '--note', 'still frozen'])).exitCode).toBe(0);
  expect((await listed()).state).toBe('paused (still frozen)');

  const unpaused = await sopCli(['triggers', 'unpause', `${sop}/inbox`]);
  expect(unpaused.exitCode).toBe(0);
  expect(String(unpaused.stdout).trim()).toBe(`unpause: ${sensorId}`);
  await eventually(() => completed(`${sop}/inbox-c`), 90_000);
  expect(await listed()).toMatchObject({ state: 'running', errors: [] });
  const now = (await status()).polls;
  await eventually(async () => ((await status()).polls >= now + 2 ? true : undefined), 60_000);
  expect(await runIdsOf(ctx.client, sop)).toEqual([`${sop}/inbox-a`, `${sop}/inbox-b`, `${sop}/inbox-c`]);
  expect(fs.readFileSync(path.join(project.dir, 'handled.log'), 'utf8')).toBe('handled\n'.repeat(3));
  // replayed by test/workflows/replay.workflow.test.ts: malformed signals, pause and unpause stay in the history
  await recordHistory(ctx.client.workflow.getHandle(sensorId), 'sensor-pause-signals');
}, 240_000);

test('sop triggers trigger-now makes a paused sensor poll once at once and prints the runs that poll started', async () => {
  expect((await sopCli(['triggers', 'pause', `${sop}/inbox`])).exitCode).toBe(0);
  writeItems(['a', 'b', 'c', 'd', 'e']);
  const before = (await status()).polls;
  const now = await sopCli(['triggers', 'trigger-now', `${sop}/inbox`]);
  expect(now.stderr).toBe('');
  expect(now.exitCode).toBe(0);
  expect(String(now.stdout).trim()).toBe(`polled ${sensorId}: started ${sop}/inbox-d, ${sop}/inbox-e`);
  await eventually(() => completed(`${sop}/inbox-e`), 90_000);
  // one poll, and the sensor is still paused: no more polls over several intervals
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  const after = await status();
  expect(after.polls).toBe(before + 1);
  expect(after.paused).toBeDefined();
  // nothing new: said so, in JSON too
  const again = await sopCli(['triggers', 'trigger-now', `${sop}/inbox`, '--json']);
  expect(json(again)).toMatchObject({ trigger: `${sop}.inbox`, kind: 'poll', id: sensorId, started: [] });
  expect((await sopCli(['triggers', 'unpause', `${sop}/inbox`])).exitCode).toBe(0);
  // replayed by test/workflows/replay.workflow.test.ts: pollNow updates (paused and running) stay in the history
  await recordHistory(ctx.client.workflow.getHandle(sensorId), 'sensor-poll-now');
}, 240_000);

test('pause of a trigger that has neither a Schedule nor a running sensor names both and what to do', async () => {
  const r = await sopCli(['triggers', 'pause', `${sop}/nope`]);
  expect(r.exitCode).toBe(3);
  expect(r.stderr).toContain(`no Schedule or running sensor ${sop}/nope on the server`);
  const now = await sopCli(['triggers', 'trigger-now', `${sop}/nope`]);
  expect(now.exitCode).toBe(3);
  expect(now.stderr).toContain(
    `no Schedule or running sensor ${sop}/nope on the server: trigger-now fires a schedule trigger, or makes a poll trigger poll once, after \`sop triggers sync\` made it`,
  );
});

test('a sensor started by hand with a malformed input fails at once, naming the field', async () => {
  const id = `sop-sensor/${sop}/by-hand-${randomUUID().slice(0, 6)}`;
  const started = await temporal([
    'workflow',
    'start',
    '--type',
    'sopSensor',
    '--task-queue',
    project.taskQueue,
    '--workflow-id',
    id,
    '--input',
    JSON.stringify({ trigger: { kind: 'poll', sop, name: 'x', input: {} }, projectDir: project.dir }),
  ]);
  expect(started.exitCode).toBe(0);
  const handle = ctx.client.workflow.getHandle(id);
  await expect(handle.result()).rejects.toThrow();
  const failure = await handle.result().catch((err: Error & { cause?: Error }) => err.cause?.message);
  expect(failure).toMatch(/^sopSensor: input\.trigger\.poll is required \(object\)/);
  expect((await handle.describe()).status.name).toBe('FAILED');
}, 60_000);
