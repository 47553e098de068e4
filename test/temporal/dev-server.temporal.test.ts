import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { execa } from 'execa';
import { temporalDir } from '../../src/temporal/package-paths';
import { resolveTemporalTarget } from '../../src/temporal/target';
import { createTestDevServer, type TestDevServer } from '../support/dev-server';
import { finish, makeWorkspace, plan, role, route, runRequest, servePlans, step, to } from '../support/plans';
import { ScriptedRunner } from '../support/scripted-runner';
import { connectForTest, withWorker } from '../support/temporal';

// A dev server of its own, so restarting it cannot disturb the suite's shared one.
let server: TestDevServer;
beforeAll(async () => {
  server = await createTestDevServer();
  await server.start();
});
afterAll(async () => {
  await server?.stop();
});

test('starting when one is already running is a no-op that keeps the same server process', async () => {
  const pid = server.pid();
  const output = await server.start();
  expect(output).toContain(`already running at ${server.address}`);
  expect(server.pid()).toBe(pid);
});

test('executions survive a dev server restart (persistent database)', async () => {
  const target = resolveTemporalTarget({ ...server.env });
  const workflowId = `smoke/persist-${randomUUID()}`;
  let ctx = await connectForTest(target);
  try {
    await withWorker(ctx, async (taskQueue) => {
      const handle = await ctx.client.workflow.start('smokeWorkflow', {
        workflowId,
        taskQueue,
        args: ['kept'],
      });
      await handle.result();
    });
  } finally {
    await ctx.close();
  }

  const oldPid = server.pid();
  await server.stop();
  await server.start();
  expect(server.pid()).not.toBe(oldPid);

  ctx = await connectForTest(target);
  try {
    const handle = ctx.client.workflow.getHandle(workflowId);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(await handle.result()).toMatchObject({ echoed: 'kept' });
  } finally {
    await ctx.close();
  }
});

test('a second build reuses the built binary and needs no Go toolchain', async () => {
  const started = Date.now();
  const result = await execa('bash', [path.join(temporalDir, 'build.sh')], {
    env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME },
    extendEnv: false,
    stdin: 'ignore',
  });
  expect(result.stdout).toMatch(/temporal CLI \d+\.\d+\.\d+ is up to date/);
  expect(Date.now() - started).toBeLessThan(5_000);
});

test('a run in progress survives a dev server restart and completes', async () => {
  const target = resolveTemporalTarget({ ...server.env });
  const runner = new ScriptedRunner({
    'first/agent': [{ route: 'next', delayMs: 3_000 }],
    'second/agent': [{ route: 'done' }],
  });
  const p = plan('restart', [
    step('first', { agent: role('First.'), routes: [route('next', to('second'))] }),
    step('second', { agent: role('Second.'), routes: [route('done', finish)] }),
  ]);
  const run = makeWorkspace(p.sop, randomUUID());
  const ctx = await connectForTest(target);
  try {
    await withWorker(
      ctx,
      async (taskQueue) => {
        const handle = await ctx.client.workflow.start(p.sop, {
          workflowId: `${p.sop}/${run.taskId}`,
          taskQueue,
          args: [runRequest(p, run)],
        });
        while (runner.calls.length === 0) await new Promise((r) => setTimeout(r, 100));
        await server.stop();
        await server.start();
        const result = await handle.result();
        expect(result.routesTaken.map((r: { step: string }) => r.step)).toEqual(['first', 'second']);
      },
      { runners: { codex: runner }, ...servePlans(p) },
    );
  } finally {
    await ctx.close();
  }
}, 120_000);
