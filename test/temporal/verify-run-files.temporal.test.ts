import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SopClient } from '../../src/client';
import type { RunRef } from '../../src/shapes/contract';
import type { ArtifactSpec, ExecutionPlan, WorklistSpec } from '../../src/shapes/execution-plan';
import type { RunResult } from '../../src/shapes/run';
import {
  failTarget,
  finish,
  makeWorkspace,
  plan,
  role,
  route,
  runRequest,
  servePlans,
  step,
  to,
} from '../support/plans';
import { runSop } from '../support/run-sop';
import { ScriptedRunner } from '../support/scripted-runner';
import { connectForTest, type TemporalTestContext, testTarget, withWorker } from '../support/temporal';

// Issue 22, first false claim: `sop verify --against-history` said "intact" for a run folder whose run.json
// and executions.jsonl had been edited, and a pack exported from it verified too. Runs here use the scripted
// stand-in harness on the real dev server; `sop` is the real binary.

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

const verify = (...args: string[]) => runSop(['verify', ...args]);

/** Edits a file of the run folder; returns a function that puts it back. */
function edit(file: string, change: (text: string) => string): () => void {
  const original = fs.readFileSync(file, 'utf8');
  const changed = change(original);
  expect(changed).not.toBe(original);
  fs.writeFileSync(file, changed);
  return () => fs.writeFileSync(file, original);
}

/** Sets `field` of line `n` (1-based) of executions.jsonl, keeping every other byte of the file. */
const setLineField = (n: number, field: string, value: unknown) => (text: string) =>
  text
    .split('\n')
    .map((line, i) => (i === n - 1 ? JSON.stringify({ ...JSON.parse(line), [field]: value }) : line))
    .join('\n');

/** Starts `p` by run request, on a worker that serves it (servePlans). */
function start(taskQueue: string, p: ExecutionPlan, run: RunRef) {
  return ctx.client.workflow.start(p.sop, {
    workflowId: `${p.sop}/${run.taskId}`,
    taskQueue,
    args: [runRequest(p, run)],
  });
}

test('run.json status and one executions.jsonl route edited: --against-history names file, field and both values, for the folder and for a pack exported from it', async () => {
  const runner = new ScriptedRunner({
    'draft/agent': [{ route: 'next', costUsd: 0.01 }],
    'review/agent': [{ route: 'done', costUsd: 0.02 }],
  });
  const p = plan(`vrf-${randomUUID().slice(0, 6)}`, [
    step('draft', { agent: role('Draft.'), routes: [route('next', to('check'))] }),
    step('check', {
      kind: 'command',
      command: { run: 'echo checked', timeoutMs: 10_000 },
      routes: [route('passed', to('review')), route('failed', failTarget())],
    }),
    step('review', { agent: role('Review.'), routes: [route('done', finish)] }),
  ]);
  const run = makeWorkspace(p.sop, 't1');
  const runJson = path.join(run.runFolder, 'run.json');
  const executions = path.join(run.runFolder, 'executions.jsonl');
  const pack = path.join(run.workspace, 'edited.tar.gz');
  await withWorker(
    ctx,
    async (taskQueue) => {
      const handle = await start(taskQueue, p, run);
      expect(((await handle.result()) as RunResult).status).toBe('completed');

      // untouched: every file compared, run.json and executions.jsonl against history, none by hash only
      const ok = await verify('--against-history', p.sop, 't1', run.runFolder);
      expect(ok.exitCode).toBe(0);
      const okText = String(ok.stdout);
      expect(okText).toContain(`${run.runFolder}: OK — 9 of 9 files compared, all intact`);
      expect(okText).toMatch(
        /against Temporal history \(1 execution\): 5 — executions\.jsonl, run\.json, steps\/check\/2-command\.log, 2 evidence records/,
      );
      expect(okText).toContain(
        'run.json: whole file by sha256, and status, failure, usage, deniedCalls, denials, routesTaken',
      );
      expect(okText).toContain('executions.jsonl: 3 line(s) whole by sha256 and the fields history holds');
      expect(okText).not.toMatch(/by hash only|not checked/);

      const restoreStatus = edit(runJson, (t) => t.replace('"status": "completed"', '"status": "failed"'));
      const lines = fs.readFileSync(executions, 'utf8').trim().split('\n');
      const reviewLine = lines.findIndex((l) => JSON.parse(l).step === 'review') + 1;
      const reviewPath = JSON.parse(lines[reviewLine - 1]).path;
      const restoreRoute = edit(executions, setLineField(reviewLine, 'route', 'next'));
      try {
        const refused = await verify('--against-history', p.sop, 't1', run.runFolder);
        expect(refused.exitCode).toBe(1);
        const problems = String(refused.stderr);
        expect(problems).toContain(
          `run.json: field status is "failed", but Temporal history says "completed" (the run's final stamp, event`,
        );
        expect(problems).toContain(
          `executions.jsonl line ${reviewLine} (${reviewPath}): field route is "next", but Temporal history says "done" (event`,
        );
        expect(String(refused.stdout)).not.toContain('intact');

        // a pack exported from the edited folder is consistent in itself: the pack alone says which of its
        // files only manifest.json vouches for; history refuses it, naming the same fields
        expect(
          (await runSop(['runs', 'export', p.sop, 't1', '-o', pack, '--workspace', run.workspace])).exitCode,
        ).toBe(0);
        const alone = await verify(pack);
        expect(alone.exitCode).toBe(0);
        expect(String(alone.stdout)).toMatch(
          /by hash only \(manifest\.json, which is not signed .*\): 5 — executions\.jsonl, run\.json, steps\/check\/2-command\.log, 2 evidence records/,
        );
        const packRefused = await verify('--against-history', p.sop, 't1', pack);
        expect(packRefused.exitCode).toBe(1);
        expect(String(packRefused.stderr)).toContain(
          `${pack}: run.json: field status is "failed", but Temporal history says "completed"`,
        );
        expect(String(packRefused.stderr)).toContain(
          `${pack}: executions.jsonl line ${reviewLine} (${reviewPath}): field route is "next", but Temporal history says "done"`,
        );
      } finally {
        restoreStatus();
        restoreRoute();
      }

      // a field history holds no value for: the whole line's sha256 catches it
      const restoreAccepted = edit(executions, setLineField(1, 'accepted', false));
      try {
        const refused = await verify('--against-history', p.sop, 't1', run.runFolder, '--json');
        expect(refused.exitCode).toBe(1);
        const out = JSON.parse(String(refused.stdout));
        expect(out.problems).toEqual([
          expect.stringMatching(
            /^executions\.jsonl line 1 \(steps\/draft\/0001-agent-a1-l1\) was modified: sha256 \w{12,}… ≠ \w{12,}… as its activity wrote it \(event \d+ of run [\w-]+\); the fields history holds \(kind, step, item, role, attempt, launch, route, launchFailure, usage\) match, so another one was edited$/,
          ),
        ]);
      } finally {
        restoreAccepted();
      }

      // a command's output log against the sha256 its activity reported
      const restoreLog = edit(path.join(run.runFolder, 'steps/check/2-command.log'), () => 'all green\n');
      try {
        const refused = await verify('--against-history', p.sop, 't1', run.runFolder);
        expect(String(refused.stderr)).toMatch(
          /steps\/check\/2-command\.log was modified: sha256 \w{12,}… ≠ \w{12,}… recorded in Temporal history/,
        );
      } finally {
        restoreLog();
      }
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );

  // without --against-history: the folder is checked against its records, and the rest is named unchecked
  const folder = await verify(run.runFolder);
  expect(folder.exitCode).toBe(0);
  const folderText = String(folder.stdout);
  expect(folderText).toContain(`${run.runFolder}: OK — 4 of 9 files compared, all intact`);
  expect(folderText).toContain(
    'against evidence records: 4 (prompts, transcripts, harness files, artifacts)',
  );
  expect(folderText).toMatch(
    /not checked, nothing to compare them with: 5 — executions\.jsonl, run\.json, steps\/check\/2-command\.log, 2 evidence records/,
  );
  expect(folderText).toContain(`to check them: sop verify --against-history ${p.sop} t1 ${run.runFolder}`);
  expect(folderText).not.toContain('EISDIR');
}, 180_000);

const work: ArtifactSpec = {
  name: 'work',
  kind: 'json',
  path: '{{ run.folder }}/work.json',
  required: true,
  schema: { type: 'object', required: ['items'], properties: { items: { type: 'array' } } },
};
const items: WorklistSpec = {
  name: 'items',
  from: 'work',
  collection: 'items',
  id: 'id',
  title: 'title',
  status: 'status',
};

test('across continue-as-new, a failed execution and its resume: an untouched folder verifies, an edit in any execution is named', async () => {
  const list = {
    items: [1, 2, 3, 4].map((n) => ({ id: `item-${n}`, title: `Item ${n}`, status: 'pending' })),
  };
  const runner = new ScriptedRunner({
    'plan/agent': [{ route: 'planned', write: { '{{ run.folder }}/work.json': list } }],
    'implement/agent': [{ route: 'done' }],
    'final/agent': [{ route: 'bad' }, { route: 'done' }],
  });
  const p = plan(
    `vrc-${randomUUID().slice(0, 6)}`,
    [
      step('plan', { agent: role('Plan.', ['work']), routes: [route('planned', to('implement'), ['work'])] }),
      step('implement', {
        agent: role('Implement {{ item.title }}.'),
        forEach: { worklist: 'items', concurrency: 1 },
        routes: [route('done', { kind: 'advance', exhausted: to('final') })],
      }),
      step('final', {
        agent: role('Sum up.'),
        routes: [route('done', finish), route('bad', failTarget('the summary went bad'))],
      }),
    ],
    { artifacts: [work], worklists: [items] },
  );
  const run = makeWorkspace(p.sop, 't2');
  const runJson = path.join(run.runFolder, 'run.json');
  const executions = path.join(run.runFolder, 'executions.jsonl');
  await withWorker(
    ctx,
    async (taskQueue) => {
      const handle = await start(taskQueue, p, run);
      await expect(handle.result()).rejects.toThrow();
      expect(JSON.parse(fs.readFileSync(runJson, 'utf8'))).toMatchObject({ status: 'failed' });
      const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
      const resumed = await client.restart(p.sop, 't2', { resume: true });
      expect(((await resumed.result()) as RunResult).status).toBe('completed');

      const ok = await verify('--against-history', p.sop, 't2', run.runFolder);
      expect(ok.exitCode).toBe(0);
      const read = Number(/against Temporal history \((\d+) executions\)/.exec(String(ok.stdout))?.[1]);
      // at least one continue-as-new before the failure, then the resume
      expect(read).toBeGreaterThanOrEqual(3);
      expect(String(ok.stdout)).toContain('executions.jsonl: 7 line(s) whole by sha256');
      // the worklist file the runtime rewrites is named, not counted as compared
      expect(String(ok.stdout)).toMatch(/not checked, nothing to compare them with: 1 — work\.json/);

      // the first line was written by the first execution, before it continued as new
      const first = JSON.parse(fs.readFileSync(executions, 'utf8').split('\n')[0]);
      const restoreRoute = edit(executions, setLineField(1, 'route', 'elsewhere'));
      // the failed execution's stamp is not the one run.json must hold: the resumed run's is
      const restoreStatus = edit(runJson, (t) => t.replace('"status": "completed"', '"status": "failed"'));
      try {
        const refused = await verify('--against-history', p.sop, 't2', run.runFolder);
        expect(refused.exitCode).toBe(1);
        const problems = String(refused.stderr);
        expect(problems).toContain(
          `executions.jsonl line 1 (${first.path}): field route is "elsewhere", but Temporal history says "planned" (event`,
        );
        expect(problems).toContain(
          'run.json: field status is "failed", but Temporal history says "completed"',
        );
        // the line's event is in the first execution, the stamp's in the resumed one
        expect(/says "planned" \(event \d+ of run ([\w-]+)\)/.exec(problems)?.[1]).toBe(
          handle.firstExecutionRunId,
        );
        expect(/final stamp, event \d+ of run ([\w-]+)\)/.exec(problems)?.[1]).toBe(
          (await resumed.describe()).runId,
        );
      } finally {
        restoreRoute();
        restoreStatus();
      }

      // a line no activity wrote, and the line it replaced, are both named
      const restoreLines = edit(executions, (t) => {
        const all = t.trim().split('\n');
        const forged = { ...JSON.parse(all[1]), path: 'steps/implement/item-1/0099-agent-a1-l1' };
        return `${[all[0], JSON.stringify(forged), ...all.slice(2)].join('\n')}\n`;
      });
      try {
        const refused = await verify('--against-history', p.sop, 't2', run.runFolder);
        const problems = String(refused.stderr);
        expect(problems).toContain(
          'executions.jsonl line 2 (steps/implement/item-1/0099-agent-a1-l1) is not in Temporal history (no activity reported writing it)',
        );
        expect(problems).toMatch(
          /executions\.jsonl has no line for steps\/implement\/item-1\/0002-agent-a1-l1, which Temporal history records/,
        );
      } finally {
        restoreLines();
      }
    },
    // small, so the first run continues as new between its items
    { runners: { codex: runner }, ...servePlans(p), runOptions: { continueAsNewAfterEvents: 20 } },
  );
}, 180_000);
