import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunExistsError, SopClient, SopInputError } from '../../src/client';
import { fetchRunEvents } from '../../src/client/run-events';
import { defineSop } from '../../src/sop/compile';
import { finish, makeWorkspace, plan, role, route, servePlans, step } from '../support/plans';
import { ScriptedRunner } from '../support/scripted-runner';
import {
  connectForTest,
  eventually,
  type TemporalTestContext,
  testTarget,
  withWorker,
} from '../support/temporal';

let ctx: TemporalTestContext;
let sop: SopClient;
beforeAll(async () => {
  ctx = await connectForTest();
  sop = new SopClient(ctx.client, testTarget());
});
afterAll(async () => {
  await ctx?.close();
});

const inputSchema = {
  type: 'object',
  required: ['request'],
  properties: { request: { type: 'string', minLength: 1 }, priority: { type: 'integer' } },
};

test('given the SOP bundle, input that fails its input schema is refused with the field path, and no workflow starts', async () => {
  const name = `strict-${randomUUID().slice(0, 8)}`;
  const bundle = defineSop(
    {
      name,
      input: { request: 'string', priority: { type: 'integer', required: false } },
      steps: { a: { prompt: 'prompts/a.md', routes: { done: { finish: true } } } },
    },
    { files: { 'prompts/a.md': 'A.' } },
  );
  const run = makeWorkspace(name, 't1');
  const error = await sop
    // @ts-expect-error priority is an integer: the type checker says so too
    .start(bundle, { input: { request: 'x', priority: 'high' }, repo: { path: run.workspace } })
    .catch((e) => e);
  expect(error).toBeInstanceOf(SopInputError);
  expect(error.message).toBe(
    `invalid input for ${name}: input.priority: Instance type "string" is invalid. Expected "integer".`,
  );
  const count = await ctx.client.workflow.count(`SopName = "${name}"`);
  expect(count.count).toBe(0);
});

test('a task id that is running is refused; a finished one re-runs only when asked, and runs are listed by SOP', async () => {
  const name = `dup-${randomUUID().slice(0, 8)}`;
  const runner = new ScriptedRunner({ 'a/agent': [{ route: 'done', delayMs: 1_500 }] });
  const p = plan(name, [step('a', { agent: role('A.'), routes: [route('done', finish)] })], { inputSchema });
  const run = makeWorkspace(name, 'task-1');
  const options = { task: 'task-1', input: { request: 'do it' }, repo: { path: run.workspace } };

  await withWorker(
    ctx,
    async (taskQueue) => {
      const ours = new SopClient(ctx.client, { ...testTarget(), taskQueue });
      const handle = await ours.start(name, options);
      expect(handle.workflowId).toBe(`${name}/task-1`);
      const running = await ours.start(name, options).catch((e) => e);
      expect(running).toBeInstanceOf(RunExistsError);
      expect(running.message).toBe(
        `run ${name}/task-1 is already running; follow it, cancel it, or choose another task id`,
      );
      await handle.result();
      const firstRunId = (await handle.describe()).runId;

      const finished = await ours.start(name, options).catch((e) => e);
      expect(finished.message).toContain('has finished; pass rerun: true');
      const again = await ours.start(name, { ...options, rerun: true });
      await again.result();
      // the new run keeps its own records; the finished run's folder is set aside, not overwritten
      const lines = (folder: string) =>
        fs.readFileSync(path.join(folder, 'executions.jsonl'), 'utf8').trim().split('\n');
      const previous = `${run.runFolder}.previous-${firstRunId}`;
      expect(lines(run.runFolder)).toHaveLength(1);
      expect(lines(previous)).toHaveLength(1);
      expect(fs.existsSync(path.join(previous, 'steps/a/0001-agent-a1-l1/evidence.json'))).toBe(true);
      const events = await fetchRunEvents(ctx.client, again);
      expect(events.filter((e) => e.kind === 'run started')).toHaveLength(1);

      const listed = await eventually(async () => {
        const rows = [];
        for await (const r of ours.list({ sop: name, status: 'completed' })) rows.push(r);
        return rows.length === 2 ? rows : undefined;
      });
      expect(listed.map((r) => [r.sop, r.taskId, r.status])).toEqual([
        [name, 'task-1', 'completed'],
        [name, 'task-1', 'completed'],
      ]);
      expect((await again.describe()).staticSummary).toBeDefined();
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
});
