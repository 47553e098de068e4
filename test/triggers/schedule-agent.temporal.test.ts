import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResultPromise } from 'execa';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import { runSop } from '../support/run-sop';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';
import { completedRun, gitInit, startSopWorker, triggerProject } from '../support/trigger-project';

// A scheduled run of an agent step under the scripted model: the Schedule appends its fire time to the
// task id (`hourly-2026-12-07T18:00:00Z`), whose ":" the reply's {{ run.folder }} must keep, or the agent
// writes elsewhere and the step's required artifact is missing. `sop triggers trigger-now` makes the
// Schedule fire and names the run it started. Real dev server, real `sop worker`, real Claude Code.

const sop = `report-${randomUUID().slice(0, 6)}`;
const project = triggerProject(
  sop,
  `name: ${sop}
input:
  request: { type: string }
defaults: { provider: claude, policy: edit }
policies:
  edit: { sandbox: workspace-write, network: none }
artifacts:
  report: { kind: md, path: "{{ run.folder }}/report.md", required: true }
triggers:
  hourly:
    schedule: { every: 24h }
    input: { request: "the scheduled report" }
steps:
  report:
    prompt: prompts/report.md
    writes: [report]
    routes:
      done: { finish: true, requires: [report] }
`,
);
fs.mkdirSync(path.join(project.dir, 'sops', sop, 'prompts'), { recursive: true });
fs.writeFileSync(path.join(project.dir, 'sops', sop, 'prompts', 'report.md'), 'Write {{ input.request }}.\n');

const sopCli = (args: string[]) =>
  runSop(args, { env: { SOP_TASK_QUEUE: project.taskQueue }, cwd: project.dir, timeoutMs: 120_000 });

let ctx: TemporalTestContext;
let model: ModelServer;
let worker: ResultPromise | undefined;
beforeAll(async () => {
  ctx = await connectForTest();
  model = await startModelServer({
    rules: [
      {
        match: 'Write the scheduled report',
        runs: [
          [
            { write: { path: '{{ run.folder }}/report.md', content: '# Report\n' } },
            { final: { route: 'done', summary: 'wrote the report', details: '' } },
          ],
        ],
      },
    ],
  });
  await gitInit(project.dir);
  worker = (await startSopWorker(project.dir, project.taskQueue, { SOP_CLAUDE_BASE_URL: model.url })).child;
}, 120_000);
afterAll(async () => {
  await ctx?.client.schedule
    .getHandle(`${sop}/hourly`)
    .delete()
    .catch(() => undefined);
  worker?.kill('SIGTERM');
  await worker;
  await model?.close();
  await ctx?.close();
});

test('trigger-now prints the scheduled run it started; that run (task id with ":") completes with its artifact in its run folder', async () => {
  expect((await sopCli(['triggers', 'sync', '-C', project.dir])).exitCode).toBe(0);
  const fired = await sopCli(['triggers', 'trigger-now', `${sop}/hourly`]);
  expect(fired.stderr).toBe('');
  expect(fired.exitCode).toBe(0);
  const started = /^started (\S+)$/.exec(String(fired.stdout).trim())?.[1];
  expect(started).toMatch(new RegExp(`^${sop}/hourly-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));

  await eventually(() => completedRun(ctx.client, started!), 180_000);
  const task = started!.slice(sop.length + 1);
  const runFolder = path.join(project.dir, '.sop', 'runs', sop, task);
  expect(fs.readFileSync(path.join(runFolder, 'report.md'), 'utf8')).toBe('# Report\n');
  const summary = JSON.parse(fs.readFileSync(path.join(runFolder, 'run.json'), 'utf8'));
  expect(summary).toMatchObject({ status: 'completed' });
  // nothing went to a folder cut at the ":" of the fire time
  expect(fs.readdirSync(path.join(project.dir, '.sop', 'runs', sop))).toEqual([task]);
}, 240_000);
