import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { RunResult } from '../../src/workflows/interpreter';
import { finish, makeWorkspace, plan, role, route, runInput, step, to } from '../support/plans';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

// resolves with a wrapper: the execa child is itself a promise, which resolve() would wait for
function startWorker(env: Record<string, string>): Promise<{ child: ResultPromise }> {
  const child = execa('node', [path.join(__dirname, '..', 'support', 'scripted-worker.js')], {
    env,
    reject: false,
    stdin: 'ignore',
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve({ child });
    });
    child.then((r) => reject(new Error(`worker exited early: ${r.stderr}`)));
  });
}

test('a worker killed with SIGKILL mid-step is replaced and the run finishes with every step accepted once', async () => {
  const p = plan('crash', [
    step('a', { agent: role('A.'), routes: [route('next', to('b'))] }),
    step('b', { agent: role('B.'), routes: [route('next', to('c'))] }),
    step('c', { agent: role('C.'), routes: [route('next', finish)] }),
  ]);
  const run = makeWorkspace(p.sop, randomUUID());
  const ledger = path.join(run.workspace, 'ledger.txt');
  const taskQueue = `crash-${randomUUID()}`;
  const env = { LEDGER: ledger, TASK_QUEUE: taskQueue, SLOW_STEP: 'b', SLOW_MS: '60000' };

  let worker = (await startWorker(env)).child;
  const handle = await ctx.client.workflow.start(p.sop, {
    workflowId: `${p.sop}/${run.taskId}`,
    taskQueue,
    args: [runInput(p, run, { options: { agentHeartbeatTimeoutMs: 3_000 } })],
  });
  await eventually(async () =>
    fs.existsSync(ledger) && fs.readFileSync(ledger, 'utf8').includes('b') ? true : undefined,
  );
  worker.kill('SIGKILL');
  await worker;

  worker = (await startWorker({ ...env, SLOW_MS: '10' })).child;
  try {
    const result = (await handle.result()) as RunResult;
    expect(result.routesTaken.map((r) => r.step)).toEqual(['a', 'b', 'c']);
    // b ran again after the crash; a (accepted before it) did not
    expect(fs.readFileSync(ledger, 'utf8').trim().split('\n')).toEqual(['a', 'b', 'b', 'c']);
  } finally {
    worker.kill('SIGTERM');
    await worker;
  }
}, 90_000);
