import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SopClient } from '../../src/client';
import { CodexRunner } from '../../src/harnesses/codex';
import { startModelServer } from '../../src/scripted-model/model-server';
import type { RunResult } from '../../src/shapes/run';
import { finish, makeWorkspace, plan, role, route, runRequest, step } from '../support/plans';
import { smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';
import { startScriptedWorker } from '../support/scripted-worker-process';
import { sopProject } from '../support/sop-project';
import {
  connectForTest,
  eventually,
  type TemporalTestContext,
  testTarget,
  withWorker,
} from '../support/temporal';

// Quotas across the fleet end to end (docs/quotas.md): the real Codex binary against the scripted model server,
// which counts the conversations it serves at once; and workers in processes of their own, one killed with
// SIGKILL while it holds leases.

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

test('12 runs, a quota of 2 concurrent: the model never serves more than 2 conversations at once, all complete', async () => {
  const label = `e2e-${randomUUID().slice(0, 8)}`;
  const model = await startModelServer({
    rules: [
      {
        match: 'Work on quota task',
        // a command that takes a while, then the outcome: each conversation stays open for seconds
        runs: [[{ shell: 'sleep 2' }, { final: { route: 'done', summary: 'worked', details: '' } }]],
      },
    ],
  });
  const project = sopProject(
    'quota_work',
    [
      'input: { request: string }',
      'steps:',
      '  work:',
      '    prompt: prompts/work.md',
      `    quota: ${label}`,
      '    routes: { done: finish }',
    ],
    { 'work.md': 'Work on {{ input.request }}.' },
    ['quotas:', `  ${label}: { concurrent: 2 }`],
  );
  try {
    await withWorker(
      ctx,
      async (taskQueue) => {
        const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
        const tasks = Array.from({ length: 12 }, (_, i) => `q${i + 1}`);
        const handles = await Promise.all(
          tasks.map(async (task) =>
            client.start('quota_work', {
              task,
              input: { request: `quota task ${task}` },
              repo: { path: await smallRepo('sop-quota-') },
            }),
          ),
        );
        // while they wait, `sop runs show` and `sop quotas` say where they stand
        const waiting = await eventually(async () => {
          for (const task of tasks) {
            const shown = await runSop(['runs', 'show', 'quota_work', task], {
              env: { SOP_TASK_QUEUE: taskQueue },
            });
            const line = /waiting for quota .*/.exec(String(shown.stdout))?.[0];
            if (line) return line;
          }
          return undefined;
        }, 60_000);
        expect(waiting).toMatch(
          new RegExp(`^waiting for quota ${label}: 2 of 2 in use, \\d+(st|nd|rd|th) in line$`),
        );
        const quotas = await runSop(['quotas']);
        expect(String(quotas.stdout)).toMatch(new RegExp(`^${label}: 2 of 2 in use`, 'm'));
        const results = (await Promise.all(handles.map((h) => h.result()))) as RunResult[];
        expect(results.map((r) => r.status)).toEqual(Array(12).fill('completed'));
      },
      { projectDir: project, runners: { codex: new CodexRunner({ baseUrl: `${model.url}/v1` }) } },
    );
    expect(model.requests.filter((r) => r.reply === 'final')).toHaveLength(12);
    expect(model.conversations.most).toBeLessThanOrEqual(2);
    expect(model.conversations.open).toBe(0);
  } finally {
    await model.close();
  }
}, 300_000);

test('a worker killed with SIGKILL while its launches hold the quota: the leases are freed within the heartbeat timeout, never 3 at once', async () => {
  const model = `m-${randomUUID().slice(0, 8)}`;
  const p = plan(
    'quota_kill',
    [step('work', { agent: { ...role('Work.'), model }, routes: [route('next', finish)] })],
    {
      quotas: { [`codex/${model}`]: { concurrent: 2 } },
    },
  );
  const taskQueue = `quota-kill-${randomUUID()}`;
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-quota-kill-'));
  const spans = path.join(folder, 'spans.txt');
  const heartbeatMs = 3_000;
  const env = {
    LEDGER: path.join(folder, 'ledger.txt'),
    SPANS: spans,
    TASK_QUEUE: taskQueue,
    PLANS: JSON.stringify([p]),
    RUN_OPTIONS: JSON.stringify({ agentHeartbeatTimeoutMs: heartbeatMs, relaunchBackoffMs: 100 }),
  };
  const lines = () =>
    fs.existsSync(spans)
      ? fs
          .readFileSync(spans, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' '))
          .map(([what, pid, at]) => ({ what, pid: Number(pid), at: Number(at) }))
      : [];
  // the first worker's launches take two minutes: they hold both leases until it is killed
  const doomed = (await startScriptedWorker({ ...env, SLOW_STEP: 'work', SLOW_MS: '120000' })).child;
  let survivor: Awaited<ReturnType<typeof startScriptedWorker>>['child'] | undefined;
  try {
    const handles = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const run = makeWorkspace(p.sop, randomUUID());
        return ctx.client.workflow.start(p.sop, {
          workflowId: `${p.sop}/${run.taskId}`,
          taskQueue,
          args: [runRequest(p, run)],
        });
      }),
    );
    await eventually(
      async () => (lines().filter((l) => l.what === 'start').length === 2 ? true : undefined),
      60_000,
    );
    survivor = (await startScriptedWorker({ ...env, STEP_MS: '500' })).child;
    const killedAt = Date.now();
    doomed.kill('SIGKILL');
    await doomed;
    const results = (await Promise.all(handles.map((h) => h.result()))) as RunResult[];
    expect(results.map((r) => r.status)).toEqual(Array(4).fill('completed'));
    const spansSeen = lines();
    // the killed worker's launches ended with it; the next one started once a lease was freed
    const firstAfter = spansSeen.find((l) => l.what === 'start' && l.pid !== doomed.pid)!;
    expect(firstAfter.at - killedAt).toBeLessThan(heartbeatMs + 5_000);
    let open = 0;
    let most = 0;
    const events = [
      ...spansSeen.map((l) => ({ at: l.at, d: l.what === 'start' ? 1 : -1 })),
      // the killed worker's two launches end when it is killed
      { at: killedAt, d: -2 },
    ].sort((a, b) => a.at - b.at || a.d - b.d);
    for (const e of events) {
      open += e.d;
      most = Math.max(most, open);
    }
    expect(most).toBe(2);
    // all four runs launched once on the survivor: the two lost launches again, the two that waited
    expect(spansSeen.filter((l) => l.what === 'start' && l.pid !== doomed.pid)).toHaveLength(4);
  } finally {
    doomed.kill('SIGKILL');
    survivor?.kill('SIGTERM');
    await survivor;
  }
}, 180_000);
