import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { ResultPromise } from 'execa';
import type { SensorStatus } from '../../src/workflows/sensor';
import { recordHistory } from '../support/histories';
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

// A sensor over an `http` source with a `watermark:`: a loopback server in this test answers
// `{"data": [...]}` (a list the test extends); only items whose `seq` is past the highest seen start runs,
// also after the worker is killed (SIGKILL) and another one started. Real dev server, real `sop worker`.

interface Item {
  id: string;
  seq: number;
  title: string;
}
const served: Item[] = [];
const add = (id: string, seq: number) => served.push({ id, seq, title: `item ${id}` });
let hits = 0;
const server = http.createServer((req, res) => {
  hits++;
  const authorized = req.headers['x-feed-token'] === 'feed-token-123';
  res.writeHead(authorized ? 200 : 403, { 'content-type': 'application/json' });
  res.end(authorized ? JSON.stringify({ data: served }) : '{"error":"token"}');
});

const sop = `feed-${randomUUID().slice(0, 6)}`;
const sensorId = `sop-sensor/${sop}/feed`;
let project: ReturnType<typeof triggerProject>;
let ctx: TemporalTestContext;
let worker: ResultPromise | undefined;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/items`;
  project = triggerProject(
    sop,
    `name: ${sop}
input:
  request: { type: string }
triggers:
  feed:
    poll:
      http: { url: "${url}", headers: { X-Feed-Token: "{{ env.FEED_TOKEN }}" } }
      items: data
      item_id: id
      watermark: seq
      every: 2s
    input: { request: "{{ item.title }}" }
steps:
  handle:
    run: "echo handled >> handled.log"
    routes: { passed: finish }
`,
  );
  ctx = await connectForTest();
  await gitInit(project.dir);
  worker = (await startWorker()).child;
}, 120_000);
afterAll(async () => {
  await endSensorTest(ctx, sensorId, worker);
  server.close();
});

/** the header value is read from the worker's environment, never from the SOP or history */
const startWorker = () => startSopWorker(project.dir, project.taskQueue, { FEED_TOKEN: 'feed-token-123' });
const status = () => ctx.client.workflow.getHandle(sensorId).query<SensorStatus>('sensorStatus');
const completed = (id: string) => completedRun(ctx.client, id);
/** at least two more polls than now (each poll sees the whole list again) */
const twoMorePolls = async () => {
  const polls = (await status()).polls;
  await eventually(async () => ((await status()).polls >= polls + 2 ? true : undefined), 60_000);
};

test('an http source with a watermark: only items past the watermark start runs, once each, also across a killed worker', async () => {
  add('a', 1);
  add('b', 2);
  const synced = await runSop(['triggers', 'sync', '-C', project.dir, '--json'], {
    env: { SOP_TASK_QUEUE: project.taskQueue },
    cwd: project.dir,
  });
  expect(JSON.parse(String(synced.stdout))).toEqual([
    { trigger: `${sop}.feed`, kind: 'poll', id: sensorId, action: 'started' },
  ]);
  await eventually(() => completed(`${sop}/feed-a`), 90_000);
  await eventually(() => completed(`${sop}/feed-b`), 90_000);
  expect(hits).toBeGreaterThan(0);

  // `late` arrives with a seq at the watermark (not past it), `c` past it: only `c` starts
  add('late', 2);
  add('c', 3);
  await eventually(() => completed(`${sop}/feed-c`), 90_000);
  await twoMorePolls();
  expect(await runIdsOf(ctx.client, sop)).toEqual([`${sop}/feed-a`, `${sop}/feed-b`, `${sop}/feed-c`]);
  expect(await status()).toMatchObject({ watermark: 3, fired: 3, lastRun: `${sop}/feed-c` });

  // the worker dies; an old item and a new one arrive; another worker takes over from the recorded state
  worker?.kill('SIGKILL');
  await worker;
  worker = undefined;
  add('old', 1);
  add('d', 4);
  worker = (await startWorker()).child;
  await eventually(() => completed(`${sop}/feed-d`), 90_000);
  await twoMorePolls();
  expect(await runIdsOf(ctx.client, sop)).toEqual([
    `${sop}/feed-a`,
    `${sop}/feed-b`,
    `${sop}/feed-c`,
    `${sop}/feed-d`,
  ]);
  const after = await status();
  expect(after).toMatchObject({ watermark: 4, fired: 4, lastRun: `${sop}/feed-d` });
  expect(after.lastError).toBeUndefined();
  expect(fs.readFileSync(path.join(project.dir, 'handled.log'), 'utf8')).toBe('handled\n'.repeat(4));
  // each run got its own item as its input
  const history = await ctx.client.workflow.getHandle(`${sop}/feed-d`).fetchHistory();
  const started = history.events?.[0].workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  expect(JSON.parse(Buffer.from(started?.data ?? []).toString())).toMatchObject({
    sop,
    task: 'feed-d',
    input: { request: 'item d' },
  });
  await recordHistory(ctx.client.workflow.getHandle(sensorId), 'sensor-http-watermark');
}, 400_000);
