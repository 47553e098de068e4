import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { execa } from 'execa';
import { SopClient } from '../../src/client';
import { packageRoot } from '../../src/temporal/package-paths';
import { expectAgreement } from '../support/agreement';
import { finish, makeWorkspace, plan, role, route, servePlans, step, to } from '../support/plans';
import { runSop } from '../support/run-sop';
import { ScriptedRunner } from '../support/scripted-runner';
import {
  connectForTest,
  eventually,
  type TemporalTestContext,
  testTarget,
  withWorker,
} from '../support/temporal';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

test('list, show, answer (wrong, then right), message, logs --follow and not-found, through the real `sop` binary', async () => {
  const name = `clirun-${randomUUID().slice(0, 6)}`;
  const runner = new ScriptedRunner({ 'apply/agent': [{ route: 'done', costUsd: 0.02 }] });
  const p = plan(name, [
    step('ask', {
      kind: 'input',
      input: {
        question: 'Which database?',
        schema: { type: 'object', required: ['db'], properties: { db: { enum: ['pg', 'mysql'] } } },
      },
      routes: [route('answered', to('apply'))],
    }),
    step('apply', { agent: role('Use {{ steps.ask.payload.db }}.'), routes: [route('done', finish)] }),
  ]);
  const run = makeWorkspace(name, 'cli-task');

  await withWorker(
    ctx,
    async (taskQueue) => {
      const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
      const handle = await client.start(p.sop, {
        task: 'cli-task',
        input: { request: 'pick a db' },
        repo: { path: run.workspace },
      });
      await eventually(async () =>
        (await client.status(name, 'cli-task')).status === 'waiting_input' ? true : undefined,
      );

      const listed = await eventually(async () => {
        const r = await runSop(['runs', 'list', '--sop', name, '--json']);
        const rows = JSON.parse(String(r.stdout));
        return rows.length && rows[0].status === 'waiting_input' ? rows : undefined;
      });
      expect(listed).toEqual([
        expect.objectContaining({ sop: name, taskId: 'cli-task', status: 'waiting_input' }),
      ]);

      const shown = await runSop(['runs', 'show', name, 'cli-task']);
      expect(shown.exitCode).toBe(0);
      expect(shown.stdout).toContain('Which database?');
      expect(shown.stdout).toContain(
        `Web UI: http://127.0.0.1:${process.env.SOP_TEMPORAL_UI_PORT}/namespaces/default/workflows/${name}%2Fcli-task`,
      );

      const follow = execa(
        'node',
        [path.join(packageRoot, 'bin', 'sop.js'), 'logs', `${name}/cli-task`, '--follow'],
        {
          reject: false,
          stdin: 'ignore',
        },
      );

      const wrong = await runSop(['answer', name, 'cli-task', '--value', '{"db":"oracle"}']);
      expect(wrong.exitCode).toBe(1);
      expect(wrong.stderr).toContain('the answer does not fit the requested schema: answer/db');

      const badJson = await runSop(['answer', name, 'cli-task', '--value', '{db:']);
      expect(badJson.exitCode).toBe(2);

      expect((await runSop(['message', name, 'cli-task', 'keep', 'it', 'small'])).exitCode).toBe(0);
      const right = await runSop(['answer', `${name}/cli-task`, '--value', '{"db":"pg"}']);
      expect(right.exitCode).toBe(0);
      await handle.result();

      const followed = await follow;
      expect(followed.exitCode).toBe(0);
      expect(followed.stdout).toMatch(/input requested/);
      expect(followed.stdout).toMatch(/message\s+"keep it small"/);
      expect(followed.stdout).toMatch(/step finished\s+apply · agent · attempt 1 · codex → route done/);
      expect(followed.stdout).toMatch(/run completed/);
      expect(runner.prompts('apply/agent')[0]).toContain('Message from the operator: keep it small');

      const late = await runSop(['answer', name, 'cli-task', '--approve']);
      expect(late.exitCode).toBe(1);
      expect(late.stderr).toContain(`${name}/cli-task is not waiting for input (it is completed)`);

      const done = await runSop(['runs', 'show', name, 'cli-task', '--json']);
      expect(JSON.parse(String(done.stdout))).toMatchObject({
        status: 'completed',
        routesTaken: [
          { step: 'ask', route: 'answered', target: 'apply' },
          { step: 'apply', route: 'done', target: 'finish' },
        ],
        usage: { agentRuns: 1, costUsd: 0.02 },
      });
      await expectAgreement({ sop: name, task: 'cli-task', runFolder: run.runFolder });
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );

  const pack = path.join(run.workspace, 'evidence.tar.gz');
  const exported = await runSop(['runs', 'export', name, 'cli-task', '-o', pack]);
  expect(exported.exitCode).toBe(0);
  // the agent execution and the person's answer
  expect(exported.stdout).toMatch(/2 evidence records/);
  const verified = await runSop(['verify', pack]);
  expect(verified.exitCode).toBe(0);
  expect(verified.stdout).toContain('OK');
  expect((await runSop(['verify', path.join(run.workspace, 'nope.tar.gz')])).exitCode).toBe(3);

  const missing = await runSop(['runs', 'show', name, 'no-such-task']);
  expect(missing.exitCode).toBe(3);
  expect(missing.stderr).toContain(`no run ${name}/no-such-task`);
  expect((await runSop(['runs', 'list', '--status', 'sleeping'])).exitCode).toBe(2);
}, 360_000);
