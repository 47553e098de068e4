import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResultPromise } from 'execa';
import { runSop } from '../support/run-sop';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';
import { gitInit, startSopWorker, triggerProject } from '../support/trigger-project';

// `sop triggers backfill` starts the runs a Schedule would have started in a past window (normal runs
// `<sop>/<trigger>-<fire time>` that `sop runs list` shows); `sop triggers show` prints the Schedule's
// spec, state, recent and next fires; `sop doctor` names a Schedule the catalog changed since the last sync
// and a webhook whose secret variable is unset. All through the CLI, on the real dev server and worker.

const id = randomUUID().slice(0, 6);
const sop = `nightly-${id}`;
const hook = `hook-${id}`;
const body = (cron: string) => `name: ${sop}
input:
  request: { type: string }
triggers:
  sweep:
    schedule: { cron: "${cron}", timezone: UTC }
    input: { request: "sweep" }
  pushed:
    webhook: { name: ${hook}, secret_env: SOP_TEST_HOOK_SECRET_${id.toUpperCase()} }
    input: { request: "{{ payload.ref }}" }
steps:
  stamp:
    run: "echo swept >> swept.log"
    routes: { passed: finish }
`;
// daily at 02:30 UTC: a backfill over past days has known fire times, and no live fire during the test
const project = triggerProject(sop, body('30 2 * * *'));
const secretVar = `SOP_TEST_HOOK_SECRET_${id.toUpperCase()}`;
const sopCli = (args: string[], env: Record<string, string> = {}) =>
  runSop(args, {
    env: { SOP_TASK_QUEUE: project.taskQueue, ...env },
    cwd: project.dir,
    timeoutMs: 120_000,
  });
const json = (r: { stdout: unknown }) => JSON.parse(String(r.stdout));

let ctx: TemporalTestContext;
let worker: ResultPromise | undefined;
beforeAll(async () => {
  ctx = await connectForTest();
  await gitInit(project.dir);
  worker = (await startSopWorker(project.dir, project.taskQueue)).child;
}, 120_000);
afterAll(async () => {
  await ctx?.client.schedule
    .getHandle(`${sop}/sweep`)
    .delete()
    .catch(() => undefined);
  worker?.kill('SIGTERM');
  await worker;
  await ctx?.close();
});

/** midnight UTC `days` days before today */
const daysAgo = (days: number) => {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() - days);
  return d;
};
const at0230 = (day: Date) => `${day.toISOString().slice(0, 10)}T02:30:00Z`;

test('backfill over a past window starts the runs the Schedule would have started; show prints spec, state, recent and next fires', async () => {
  expect(json(await sopCli(['triggers', 'sync', '-C', project.dir, '--json']))).toEqual([
    { trigger: `${sop}.sweep`, kind: 'schedule', id: `${sop}/sweep`, action: 'created' },
  ]);

  // three days ago 00:00 → yesterday 00:00 holds two fire times: 02:30 three and two days ago
  const from = daysAgo(3).toISOString();
  const to = daysAgo(1).toISOString();
  const backfill = await sopCli(['triggers', 'backfill', `${sop}/sweep`, '--from', from, '--to', to]);
  expect(backfill.stderr).toBe('');
  expect(backfill.exitCode).toBe(0);
  expect(String(backfill.stdout).trim()).toBe(`backfill: ${sop}/sweep`);

  const expected = [`sweep-${at0230(daysAgo(3))}`, `sweep-${at0230(daysAgo(2))}`];
  const runs = await eventually(async () => {
    const list = json(await sopCli(['runs', 'list', '--sop', sop, '--json'])) as Array<{
      taskId: string;
      status: string;
    }>;
    return list.filter((r) => r.status === 'completed').length === 2 ? list : undefined;
  }, 90_000);
  expect(runs.map((r) => r.taskId).sort()).toEqual(expected);
  expect(fs.readFileSync(path.join(project.dir, 'swept.log'), 'utf8')).toBe('swept\n'.repeat(2));

  const show = await sopCli(['triggers', 'show', `${sop}/sweep`, '-C', project.dir]);
  expect(show.exitCode).toBe(0);
  const text = String(show.stdout);
  expect(text).toMatch(/^spec {6}cron "30 2 \* \* \*", timezone UTC, overlap skip$/m);
  expect(text).toMatch(/^state {5}active$/m);
  // the next fire is the next 02:30 UTC
  const next = new Date();
  next.setUTCHours(2, 30, 0, 0);
  if (next.getTime() <= Date.now()) next.setUTCDate(next.getUTCDate() + 1);
  expect(text).toContain(`next fire ${next.toISOString().slice(0, 19).replace('T', ' ')}`);
  expect(text).toMatch(/^recent fires$/m);
  for (const task of expected) expect(text).toContain(`${sop}/${task}`);

  const shown = json(await sopCli(['triggers', 'show', `${sop}.sweep`, '-C', project.dir, '--json']));
  expect(shown).toMatchObject({
    trigger: `${sop}.sweep`,
    kind: 'schedule',
    state: 'active',
    inSync: true,
    nextFire: next.toISOString(),
    declaration: { kind: 'schedule', schedule: { cron: ['30 2 * * *'], timezone: 'UTC', overlap: 'skip' } },
  });
  expect(shown.recentFires.map((f: { workflowId: string }) => f.workflowId).sort()).toEqual(
    expected.map((task) => `${sop}/${task}`),
  );
}, 240_000);

test('backfill refuses a window that ends before it starts, before touching the server', async () => {
  const r = await sopCli([
    'triggers',
    'backfill',
    `${sop}/sweep`,
    '--from',
    '2026-11-02T00:00:00Z',
    '--to',
    '2026-11-01T00:00:00Z',
  ]);
  expect(r.exitCode).toBe(2);
  expect(r.stderr).toContain('--to must be later than --from');
});

test('sop doctor names a webhook whose secret variable is unset, and a Schedule the catalog changed since the last sync', async () => {
  const checks = async (env: Record<string, string>) =>
    json(await sopCli(['doctor', '-C', project.dir, '--json'], env)) as Array<{
      name: string;
      ok: boolean;
      detail: string;
      fix?: string;
    }>;
  const unset = await checks({ [secretVar]: '' });
  expect(unset.find((c) => c.name === `webhook ${hook}`)).toMatchObject({
    ok: false,
    detail: `${sop}: POST /hooks/${hook}, secret in ${secretVar}, which is not set: sop serve refuses its deliveries`,
    fix: expect.stringContaining(`export ${secretVar}=`),
  });
  const synced = await checks({ [secretVar]: 'shh-not-printed' });
  expect(synced.find((c) => c.name === `webhook ${hook}`)).toMatchObject({ ok: true });
  expect(synced.find((c) => c.name === 'triggers in sync')).toMatchObject({ ok: true });
  expect(JSON.stringify(synced)).not.toContain('shh-not-printed');

  // the catalog's Schedule changes (another time): doctor says so until sync updates it
  project.write(body('45 3 * * *'));
  const changed = await checks({ [secretVar]: 'x' });
  expect(changed.find((c) => c.name === 'triggers in sync')).toMatchObject({
    ok: false,
    detail: `${sop}.sweep schedule: the catalog changed since the last sync: run \`sop triggers sync\``,
  });
  expect(json(await sopCli(['triggers', 'sync', '-C', project.dir, '--json']))).toEqual([
    expect.objectContaining({ trigger: `${sop}.sweep`, action: 'updated', detail: 'the trigger changed' }),
  ]);
  expect((await checks({ [secretVar]: 'x' })).find((c) => c.name === 'triggers in sync')).toMatchObject({
    ok: true,
  });
}, 120_000);
