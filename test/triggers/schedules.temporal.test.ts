import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResultPromise } from 'execa';
import { runSop } from '../support/run-sop';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';
import { gitInit, startSopWorker, triggerProject } from '../support/trigger-project';

// `schedule:` triggers are Temporal Schedules made by `sop triggers sync`; every scheduled run is a normal
// run `<sop>/<trigger>-<fire time>` that `sop runs list` shows. Real dev server, real `sop worker`.

const sop = `tick-${randomUUID().slice(0, 6)}`;
const body = (triggers: string) => `name: ${sop}
input:
  request: { type: string }
${triggers}steps:
  stamp:
    run: "echo tick >> ticks.log"
    routes: { passed: finish }
`;
const project = triggerProject(
  sop,
  body('triggers:\n  every5:\n    schedule: { every: 5s }\n    input: { request: "scheduled tick" }\n'),
);
const env = { SOP_TASK_QUEUE: project.taskQueue };
const sopCli = (args: string[]) => runSop(args, { env, cwd: project.dir, timeoutMs: 120_000 });
const json = (r: { stdout: unknown }) => JSON.parse(String(r.stdout));

let ctx: TemporalTestContext;
let worker: ResultPromise | undefined;
beforeAll(async () => {
  ctx = await connectForTest();
  await gitInit(project.dir);
  worker = (await startSopWorker(project.dir, project.taskQueue)).child;
}, 120_000);
afterAll(async () => {
  await ctx.client.schedule
    .getHandle(`${sop}/every5`)
    .delete()
    .catch(() => undefined);
  worker?.kill('SIGTERM');
  await worker;
  await ctx?.close();
});

/** `sop doctor`'s check of the Schedules against the catalog (other checks may fail on this machine) */
const doctorTriggers = async () => {
  const doctor = await sopCli(['doctor', '-C', project.dir, '--json']);
  return (json(doctor) as Array<{ name: string }>).find((c) => c.name === 'triggers in sync');
};
const scheduleInfo = () => ctx.client.schedule.getHandle(`${sop}/every5`).describe();
const completedRuns = async () => {
  const list = await sopCli(['runs', 'list', '--sop', sop, '--json']);
  expect(list.exitCode).toBe(0);
  return (json(list) as Array<{ taskId: string; status: string; workflowId: string }>).filter(
    (r) => r.status === 'completed',
  );
};

test('sync creates the Schedule once; its runs are normal runs that complete; pause stops it, trigger-now fires one, sync after removing the trigger deletes it', async () => {
  const first = await sopCli(['triggers', 'sync', '-C', project.dir, '--json']);
  expect(first.stderr).toBe('');
  expect(json(first)).toEqual([
    { trigger: `${sop}.every5`, kind: 'schedule', id: `${sop}/every5`, action: 'created' },
  ]);
  const again = await sopCli(['triggers', 'sync', '-C', project.dir, '--json']);
  expect(json(again)).toEqual([
    { trigger: `${sop}.every5`, kind: 'schedule', id: `${sop}/every5`, action: 'unchanged' },
  ]);
  expect(await doctorTriggers()).toMatchObject({
    ok: true,
    detail: '1 schedule(s)/sensor(s) match the catalog',
  });
  const described = await scheduleInfo();
  expect(described.memo).toMatchObject({ sopTrigger: { sop, trigger: 'every5', project: project.dir } });
  expect(described.action).toMatchObject({ workflowType: sop, workflowId: `${sop}/every5` });

  // fires: runs `<sop>/every5-<RFC 3339 time>` that complete and did their work
  const runs = await eventually(async () => {
    const done = await completedRuns();
    return done.length >= 2 ? done : undefined;
  }, 60_000);
  for (const run of runs) expect(run.taskId).toMatch(/^every5-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // what started a run: the Schedule, its trigger and the fire time (the run's task id holds it too)
  const fired = json(await sopCli(['runs', 'show', runs[0].workflowId, '--json']));
  const fireTime = new Date(runs[0].taskId.slice('every5-'.length)).toISOString();
  expect(fired.startedBy).toMatchObject({
    kind: 'schedule',
    schedule: `${sop}/every5`,
    trigger: 'every5',
    fireTime,
  });
  expect(String((await sopCli(['runs', 'show', runs[0].workflowId])).stdout)).toContain(
    `started by schedule ${sop}/every5 (trigger every5), fire time ${fireTime}`,
  );
  expect(fs.readFileSync(path.join(project.dir, 'ticks.log'), 'utf8')).toMatch(/^(tick\n){2,}$/);

  const listed = json(await sopCli(['triggers', 'list', '-C', project.dir, '--json']));
  expect(listed).toEqual([
    expect.objectContaining({
      trigger: `${sop}.every5`,
      sop,
      kind: 'schedule',
      state: 'active',
      inSync: true,
      errors: [],
    }),
  ]);
  expect(Date.parse(listed[0].lastFire)).not.toBeNaN();
  expect(Date.parse(listed[0].nextFire)).toBeGreaterThan(Date.parse(listed[0].lastFire));

  // pause: no new fires over several intervals
  expect((await sopCli(['triggers', 'pause', `${sop}/every5`])).exitCode).toBe(0);
  const pausedAt = (await scheduleInfo()).info.numActionsTaken;
  await new Promise((r) => setTimeout(r, 12_000));
  const paused = await scheduleInfo();
  expect(paused.state.paused).toBe(true);
  expect(paused.info.numActionsTaken).toBe(pausedAt);
  const pausedRow = json(await sopCli(['triggers', 'list', '-C', project.dir, '--json']))[0];
  expect(pausedRow.state).toMatch(/^paused/);
  expect(pausedRow.nextFire).toBeUndefined();

  // trigger-now fires exactly one run, paused or not
  const before = (await completedRuns()).length;
  expect((await sopCli(['triggers', 'trigger-now', `${sop}/every5`])).exitCode).toBe(0);
  await eventually(async () => ((await completedRuns()).length === before + 1 ? true : undefined), 60_000);
  expect((await scheduleInfo()).info.numActionsTaken).toBe(pausedAt + 1);

  // a paused Schedule stays paused when sync updates it; removing the trigger deletes it
  project.write(body(''));
  expect(await doctorTriggers()).toMatchObject({
    ok: false,
    detail: `${sop}.every5 schedule: the catalog no longer declares it: \`sop triggers sync\` deletes it`,
    fix: expect.stringContaining('sop triggers sync'),
  });
  const removed = await sopCli(['triggers', 'sync', '-C', project.dir, '--json']);
  expect(json(removed)).toEqual([
    expect.objectContaining({ trigger: `${sop}.every5`, kind: 'schedule', action: 'deleted' }),
  ]);
  await expect(scheduleInfo()).rejects.toThrow(/not found/i);
  expect(json(await sopCli(['triggers', 'list', '-C', project.dir, '--json']))).toEqual([]);
}, 240_000);

test('operating on a trigger that has no Schedule names it and what to do', async () => {
  const r = await sopCli(['triggers', 'pause', `${sop}/nope`]);
  expect(r.exitCode).toBe(3);
  expect(r.stderr).toContain(`no Schedule or running sensor ${sop}/nope on the server`);
  const bad = await sopCli(['triggers', 'pause', 'Not A Ref']);
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr).toContain('expected SOP/TRIGGER');
});
