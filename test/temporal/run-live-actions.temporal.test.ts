import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { execa } from 'execa';
import type { AgentExecution, AgentRunner } from '../../src/harnesses/runner';
import { packageRoot } from '../../src/temporal/package-paths';
import { finish, makeWorkspace, plan, role, route, servePlans, step } from '../support/plans';
import { connectForTest, type TemporalTestContext, withWorker } from '../support/temporal';

// An operator who starts a run with `sop run` sees what the agent does while the step runs, not only one
// progress line per step: the real `sop` binary following a run whose agent reports a command, then works for
// seconds before it ends. The actions come from the activity's heartbeats (any worker, any machine).

const WORK_MS = 5_000;
let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

test('sop run prints the running agent its commands and files while the step still runs', async () => {
  const name = `runlive-${randomUUID().slice(0, 6)}`;
  const p = plan(name, [step('fix', { agent: role('Fix it.'), routes: [route('done', finish)] })]);
  const run = makeWorkspace(name, 't1');
  let endedAt = 0;
  const runner: AgentRunner = {
    async run(execution: AgentExecution) {
      execution.live?.harness('codex');
      execution.live?.add({ kind: 'command', phase: 'started', command: 'npm test -- --runInBand' });
      execution.live?.add({ kind: 'file', change: 'write', path: 'src/fix.ts' });
      execution.heartbeat();
      await new Promise((r) => setTimeout(r, WORK_MS));
      endedAt = Date.now();
      return {
        outcome: { route: 'done', payload: { summary: 'fixed', details: '' } },
        usage: { inputTokens: 10, outputTokens: 1, costUsd: 0 },
      };
    },
  };
  await withWorker(
    ctx,
    async (taskQueue) => {
      const child = execa(
        'node',
        [path.join(packageRoot, 'bin', 'sop.js'), 'run', name, '--task', 't1', '--no-worker'],
        {
          cwd: run.workspace,
          env: { SOP_TASK_QUEUE: taskQueue },
          reject: false,
          stdin: 'ignore',
        },
      );
      const lines: Array<{ text: string; at: number }> = [];
      child.stderr?.on('data', (chunk: Buffer) => {
        for (const text of chunk.toString('utf8').split('\n')) if (text) lines.push({ text, at: Date.now() });
      });
      const done = await child;
      expect(done.exitCode).toBe(0);
      const command = lines.find((l) => /fix · agent · 1 {2}\$ npm test -- --runInBand$/.test(l.text));
      const file = lines.find((l) => /fix · agent · 1 {2}write src\/fix\.ts$/.test(l.text));
      expect(command && file).toBeTruthy();
      // shown while the agent still worked, not read back after the step
      expect(command!.at).toBeLessThan(endedAt);
      expect(file!.at).toBeLessThan(endedAt);
      // each once, though the follower reads the heartbeat several times
      expect(lines.filter((l) => l.text.includes('$ npm test')).length).toBe(1);
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
}, 120_000);
