import * as fs from 'node:fs';
import * as path from 'node:path';
import { SopClient } from '../../src/client';
import type { ArtifactSpec, Budgets, RoleSpec } from '../../src/shapes/execution-plan';
import { answerUpdate, statusQuery } from '../../src/shapes/messages';
import type { RunResult } from '../../src/shapes/run';
import { failTarget, finish, plan, role, route, step, to } from '../support/plans';
import { ScriptedRunner } from '../support/scripted-runner';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';
import { endOf, routesOf, runScripted, withScriptedRun } from '../support/workflow-tier';

// Routing rules of the interpreter with the scripted stand-in for the harness (test/support/workflow-tier.ts):
// where work goes back when a route's artifact is missing, what each budget stops, what on_denial: reject does,
// how a tool call a step's `ask:` policy holds waits for a person, and what becomes of malformed messages.

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

const lines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

describe('a verifier route that requires an artifact the producer did not write', () => {
  // The producer is told nothing about `report` (it declares no writes); only the verifier's `accepted` route
  // requires it. The verifier cannot write it: the runtime must send the work back to the producer.
  const report: ArtifactSpec = {
    name: 'report',
    kind: 'md',
    path: '{{ run.folder }}/report.md',
    required: false,
  };
  const review: ArtifactSpec = {
    name: 'review',
    kind: 'md',
    path: '{{ run.folder }}/review.md',
    required: false,
  };
  const handoff = (sop: string) =>
    plan(
      sop,
      [
        step('build', {
          kind: 'produce_verify',
          producer: role('Produce the change.'),
          verifier: role('Check the change.', ['review']),
          maxRework: 1,
          onReworkExhausted: failTarget('rework exhausted'),
          routes: [
            route('accepted', finish, ['report', 'review']),
            route('needs_rework', to('build'), ['review']),
          ],
        }),
      ],
      { artifacts: [report, review] },
    );
  const accept = { route: 'accepted', write: { '{{ run.folder }}/review.md': 'Verdict: accepted\n' } };
  const finding = (sop: string, task: string) =>
    `route \`accepted\` requires artifact \`report\` (.sop/runs/${sop}/${task}/report.md), which the producer did not write`;

  test('the producer gets the rework with the finding naming the route; the verifier is not retried', async () => {
    const runner = new ScriptedRunner({
      'build/producer': [{}, { write: { '{{ run.folder }}/report.md': 'the report\n' } }],
      'build/verifier': [accept],
    });
    const { result, run } = await runScripted(ctx, handoff('handoff'), runner);
    expect(routesOf(result)).toEqual(['build:missing_artifact', 'build:accepted']);
    // producer, verifier, producer again, verifier: no verifier retry in between
    expect(runner.calls.map((c) => c.role)).toEqual(['producer', 'verifier', 'producer', 'verifier']);
    expect(result?.usage.agentRuns).toBe(4);
    const [first, second] = runner.prompts('build/producer');
    expect(first).not.toContain(finding('handoff', run.taskId));
    expect(second).toContain('The runtime sent the work back (rework 1 of 1)');
    expect(second).toContain(finding('handoff', run.taskId));
  });

  test('a producer that never writes it uses up max_rework, then the run fails naming the route and artifact', async () => {
    const runner = new ScriptedRunner({ 'build/producer': [{}], 'build/verifier': [accept] });
    const { error, run } = await runScripted(ctx, handoff('handoff-exhausted'), runner);
    expect(error?.cause?.message).toContain(`(last finding: ${finding('handoff-exhausted', run.taskId)})`);
    const summary = JSON.parse(fs.readFileSync(path.join(run.runFolder, 'run.json'), 'utf8'));
    expect(summary.status).toBe('failed');
    expect(summary.usage.agentRuns).toBe(4);
    expect(summary.routesTaken.map((r: { step: string; route: string }) => `${r.step}:${r.route}`)).toEqual([
      'build:missing_artifact',
      'build:missing_artifact',
      'build:rework_exhausted',
    ]);
  });
});

describe('budgets stop what they claim to stop', () => {
  const cycle = (sop: string, budgets: Budgets, delayMs = 0) => ({
    runner: new ScriptedRunner({
      'a/agent': [{ route: 'next', tokens: 100, costUsd: 0.01, delayMs }],
      'b/agent': [{ route: 'next', tokens: 100, costUsd: 0.01, delayMs }],
    }),
    p: plan(
      sop,
      [
        step('a', { agent: role('A.'), routes: [route('next', to('b'))] }),
        step('b', { agent: role('B.'), routes: [route('next', to('a'))] }),
      ],
      { budgets },
    ),
  });

  test.each([
    // the scripted turn: 100 input + 10 output tokens
    [
      'max_tokens',
      { maxTokens: 300 },
      0,
      3,
      /^budget max_tokens \(300\) reached: 330 tokens used before b could start/,
    ],
    [
      'max_agent_runs',
      { maxAgentRuns: 2 },
      0,
      2,
      /^budget max_agent_runs \(2\) reached before a could start/,
    ],
    [
      'max_wall_clock',
      { maxWallClockMs: 2_500 },
      1_000,
      3,
      /^budget max_wall_clock \(2500 ms\) reached before /,
    ],
  ] as const)(
    '%s ends a run that cycles between agent steps, naming the budget',
    async (name, budgets, delayMs, runs, reason) => {
      const { runner, p } = cycle(`budget-${name.replace(/_/g, '-')}`, budgets, delayMs);
      const { error, result } = await runScripted(ctx, p, runner);
      expect(result).toBeUndefined();
      expect(runner.calls.length).toBeGreaterThanOrEqual(name === 'max_wall_clock' ? 2 : runs);
      if (name !== 'max_wall_clock') expect(runner.calls).toHaveLength(runs);
      expect(error?.cause?.message).toMatch(reason);
    },
  );

  test('max_steps ends a cycle of command steps that max_rework does not limit, naming the cycle', async () => {
    const p = plan(
      'cycle',
      [
        step('a', {
          kind: 'command',
          command: { run: 'true', timeoutMs: 10_000 },
          routes: [route('passed', to('b'))],
        }),
        step('b', {
          kind: 'command',
          command: { run: 'true', timeoutMs: 10_000 },
          routes: [route('passed', to('a'))],
        }),
      ],
      { budgets: { maxSteps: 7 } },
    );
    const { error, run } = await runScripted(ctx, p, new ScriptedRunner({}));
    const reason = 'max_steps (7) reached: cycling b → a → b';
    expect(error?.cause?.message).toBe(reason);
    const summary = JSON.parse(fs.readFileSync(path.join(run.runFolder, 'run.json'), 'utf8'));
    expect(summary).toMatchObject({ status: 'failed', failure: reason });
    // seven steps ran (a b a b a b a); the eighth was refused
    expect(summary.routesTaken.map((r: { step: string }) => r.step)).toEqual([
      'a',
      'b',
      'a',
      'b',
      'a',
      'b',
      'a',
    ]);
  });
});

describe('on_denial: reject', () => {
  const guarded: RoleSpec = {
    ...role('Look.'),
    provider: 'claude',
    policy: { sandbox: 'read-only', on_denial: 'reject' },
  };
  const denied = {
    tool: 'Bash',
    target: 'echo hi > made.txt',
    reason: 'Permission to use Bash has been denied',
    source: 'permission' as const,
  };
  const p = (sop: string) =>
    plan(sop, [step('look', { agent: guarded, maxAttempts: 2, routes: [route('done', finish)] })]);

  test('an attempt with a denied tool call is not accepted; the next prompt carries the denial', async () => {
    const runner = new ScriptedRunner({
      'look/agent': [{ route: 'done', denials: [denied] }, { route: 'done' }],
    });
    const { result, run } = await runScripted(ctx, p('guarded'), runner);
    expect(result?.status).toBe('completed');
    // the run-wide count includes the rejected attempt's denial
    expect(result?.deniedCalls).toBe(1);
    expect(result?.usage.agentRuns).toBe(2);
    const [first, second] = lines(path.join(run.runFolder, 'executions.jsonl'));
    expect([first.accepted, first.denials]).toEqual([false, [expect.objectContaining({ tool: 'Bash' })]]);
    expect([second.accepted, second.denials]).toEqual([true, []]);
    const prompt = runner.prompts('look/agent')[1];
    expect(prompt).toContain('was not accepted by the runtime');
    expect(prompt).toContain('denied tool call (on_denial: reject): Bash `echo hi > made.txt` (permission)');
  });

  test('a step whose every attempt is denied fails the run naming the denial', async () => {
    const runner = new ScriptedRunner({ 'look/agent': [{ route: 'done', denials: [denied] }] });
    const { error, run } = await runScripted(ctx, p('guarded-fail'), runner);
    expect(error?.cause?.message).toBe(
      'look: agent failed 2 attempt(s): denied tool call (on_denial: reject): Bash `echo hi > made.txt` (permission): Permission to use Bash has been denied',
    );
    expect(lines(path.join(run.runFolder, 'executions.jsonl')).map((e) => e.denials.length)).toEqual([1, 1]);
  });
});

describe('a tool call an ask: policy holds waits for a person', () => {
  const asking = (sop: string, askTimeout?: string) =>
    plan(sop, [
      step('mark', {
        agent: {
          ...role('Make the marker file.'),
          provider: 'claude',
          policy: {
            sandbox: 'workspace-write',
            ask: ['Bash(touch:*)'],
            ...(askTimeout ? { ask_timeout: askTimeout } : {}),
          },
        },
        routes: [route('done', finish)],
      }),
    ]);
  const touch = () =>
    new ScriptedRunner({
      'mark/agent': [
        {
          route: 'done',
          askTool: { name: 'Bash', input: { command: 'touch approved.txt' } },
          write: { 'approved.txt': '' },
        },
      ],
    });

  test.each([
    ['approved', { approve: true }, true],
    ['denied, with the reason', { approve: false, guidance: 'no markers today' }, false],
  ] as const)(
    '%s: the run shows the call while it waits; the decision reaches the harness and the evidence',
    async (_, value, approved) => {
      const runner = touch();
      const end = await withScriptedRun(
        ctx,
        asking(`ask-${approved ? 'yes' : 'no'}`),
        runner,
        async (started) => {
          const pending = await eventually(async () => {
            const s = await started.handle.query(statusQuery);
            return s.pendingInput?.kind === 'tool_approval' ? s.pendingInput : undefined;
          });
          expect(pending).toMatchObject({
            step: 'mark',
            tool: { name: 'Bash', input: { command: 'touch approved.txt' } },
          });
          expect(pending.routes).toEqual(['approved', 'rejected']);
          // an answer that is no decision is refused, and the call still waits
          const refused = await started.handle
            .executeUpdate(answerUpdate, {
              args: [{ requestId: pending.requestId, value: { approve: 'yes' } }],
            })
            .catch((err: Error & { cause?: Error }) => err.cause?.message ?? err.message);
          expect(String(refused)).toMatch(/does not fit the requested schema/);
          await started.handle.executeUpdate(answerUpdate, {
            args: [{ requestId: pending.requestId, value }],
          });
          return endOf(started);
        },
      );
      expect(end.result?.status).toBe('completed');
      expect(runner.calls[0].approved).toBe(approved);
      expect(fs.existsSync(path.join(end.run.workspace, 'approved.txt'))).toBe(approved);
      const [execution] = lines(path.join(end.run.runFolder, 'executions.jsonl'));
      expect(execution.toolApprovals).toEqual([expect.objectContaining({ tool: 'Bash', approved })]);
      const evidence = JSON.parse(
        fs.readFileSync(path.join(end.run.runFolder, execution.path, 'evidence.json'), 'utf8'),
      );
      expect(evidence.toolApprovals).toEqual([
        expect.objectContaining({
          tool: 'Bash',
          approved,
          ...(approved ? {} : { reason: expect.stringContaining('no markers today') }),
        }),
      ]);
      expect(end.result?.answers).toEqual([expect.objectContaining({ kind: 'tool_approval', value })]);
    },
  );

  test('nobody answers within ask_timeout: the call is denied as timed out and the request is withdrawn', async () => {
    const runner = touch();
    const end = await runScripted(ctx, asking('ask-timeout', '1500ms'), runner);
    expect(end.result?.status).toBe('completed');
    expect(runner.calls[0].approved).toBe(false);
    expect(fs.existsSync(path.join(end.run.workspace, 'approved.txt'))).toBe(false);
    const [execution] = lines(path.join(end.run.runFolder, 'executions.jsonl'));
    const evidence = JSON.parse(
      fs.readFileSync(path.join(end.run.runFolder, execution.path, 'evidence.json'), 'utf8'),
    );
    expect(evidence.toolApprovals).toEqual([
      expect.objectContaining({
        approved: false,
        timedOut: true,
        reason: expect.stringContaining('ask_timeout'),
      }),
    ]);
    expect(end.result?.answers ?? []).toEqual([]);
  });
});

describe('malformed messages', () => {
  test('signals and updates of the wrong shape are ignored or refused; the run still waits and answers', async () => {
    const runner = new ScriptedRunner({ 'apply/agent': [{ route: 'done' }] });
    const p = plan('malformed', [
      step('ask', {
        kind: 'input',
        input: {
          question: 'Ship it?',
          schema: { type: 'object', required: ['approve'], properties: { approve: { type: 'boolean' } } },
        },
        routes: [route('answered', to('apply'))],
      }),
      step('apply', {
        agent: role('Apply {{ steps.ask.payload.approve }}.'),
        routes: [route('done', finish)],
      }),
    ]);
    const end = await withScriptedRun(ctx, p, runner, async (started) => {
      const { handle } = started;
      const waiting = async () =>
        eventually(async () => {
          const s = await handle.query(statusQuery);
          return s.status === 'waiting_input' ? s : undefined;
        });
      await waiting();
      // signals: the sender cannot be told, so they are ignored (with a logged reason)
      for (const arg of ['yes', { valu: true }, { value: { approve: 'yes' } }, null, undefined])
        await handle.signal('submitAnswer', arg);
      await handle.signal('message', { text: 1 });
      await handle.signal('message', '');
      await handle.signal('toolApproval', { requestId: 'x', step: 'ask' });
      await handle.signal('toolApprovalWithdrawn', { reason: 'none' });
      // updates: refused, naming what is wrong and the expected shape
      const refusal = (arg: unknown) =>
        handle
          .executeUpdate<unknown, [unknown]>('answer', { args: [arg] as [unknown] })
          .then(() => 'accepted')
          .catch((err: Error & { cause?: Error }) => err.cause?.message ?? err.message);
      expect(await refusal({ approve: true })).toContain('expected {"value": <the answer>');
      expect(await refusal(undefined)).toContain('answer is required');
      expect(await refusal({ value: { approve: 'yes' } })).toContain('does not fit the requested schema');
      expect(await refusal({ value: { approve: true }, requestId: 'nope' })).toMatch(/nope/);
      // nothing of it was taken as an answer
      const still = await waiting();
      expect(still.answers ?? []).toEqual([]);
      expect(still.pendingInput?.question).toBe('Ship it?');
      await handle.executeUpdate(answerUpdate, { args: [{ value: { approve: true } }] });
      return endOf(started);
    });
    expect(routesOf(end.result)).toEqual(['ask:answered', 'apply:done']);
    expect(runner.prompts('apply/agent')[0]).toContain('Apply true.');
    expect(runner.prompts('apply/agent')[0]).not.toContain('Message from the operator');
  });
});

describe('worklists', () => {
  test('an item that asks for a re-plan leaves the worklist; the new plan keeps done items done and its new items run', async () => {
    const work = (items: Array<[string, string]>) => ({
      items: items.map(([id, status]) => ({ id, title: `Item ${id}`, status })),
    });
    const runner = new ScriptedRunner({
      'plan/agent': [
        {
          route: 'planned',
          write: {
            '{{ run.folder }}/work.json': work([
              ['a', 'pending'],
              ['b', 'pending'],
            ]),
          },
        },
        {
          route: 'planned',
          write: {
            '{{ run.folder }}/work.json': work([
              ['a', 'done'],
              ['c', 'pending'],
              ['d', 'pending'],
            ]),
          },
        },
      ],
      'implement/a/agent': [{ route: 'done' }],
      'implement/b/agent': [{ route: 'replan' }],
      'implement/c/agent': [{ route: 'done' }],
      'implement/d/agent': [{ route: 'done' }],
    });
    const p = plan(
      'replan',
      [
        step('plan', {
          agent: role('Plan.', ['work']),
          routes: [route('planned', to('implement'), ['work'])],
        }),
        step('implement', {
          agent: role('Implement {{ item.title }}.'),
          forEach: { worklist: 'items', concurrency: 1 },
          routes: [route('done', { kind: 'advance', exhausted: finish }), route('replan', to('plan'))],
        }),
      ],
      {
        artifacts: [{ name: 'work', kind: 'json', path: '{{ run.folder }}/work.json', required: true }],
        worklists: [
          { name: 'items', from: 'work', collection: 'items', id: 'id', title: 'title', status: 'status' },
        ],
      },
    );
    const { result, run } = await runScripted(ctx, p, runner);
    expect(routesOf(result)).toEqual([
      'plan:planned',
      'implement[a]:done',
      'implement[b]:replan',
      'plan:planned',
      'implement[c]:done',
      'implement[d]:done',
    ]);
    expect(runner.calls.filter((c) => c.step === 'implement').map((c) => c.item)).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
    const written = JSON.parse(fs.readFileSync(path.join(run.runFolder, 'work.json'), 'utf8'));
    expect(written.items.map((i: { id: string; status: string }) => `${i.id}:${i.status}`)).toEqual([
      'a:done',
      'c:done',
      'd:done',
    ]);
  });
});

describe('resume and rerun (what `sop resume` and `sop rerun` start)', () => {
  test('a failed run resumes at the step in progress, keeping what was accepted; a rerun of the plan step carries its context and runs what follows again', async () => {
    const runner = new ScriptedRunner({
      'plan/agent': [
        {
          route: 'planned',
          write: {
            '{{ run.folder }}/work.json': {
              items: ['one', 'two'].map((id) => ({ id, title: `Item ${id}`, status: 'pending' })),
            },
          },
        },
      ],
      'implement/one/agent': [{ route: 'done' }],
      // item two's harness fails every launch of the first execution, then works
      'implement/two/agent': [{ crash: 'scripted outage' }, { crash: 'scripted outage' }, { route: 'done' }],
    });
    const p = plan(
      'restart',
      [
        step('plan', {
          agent: role('Plan the change.', ['work']),
          routes: [route('planned', to('implement'), ['work'])],
        }),
        step('implement', {
          agent: role('Implement {{ item.title }}.'),
          forEach: { worklist: 'items', concurrency: 1 },
          maxLaunchFailures: 2,
          routes: [route('done', { kind: 'advance', exhausted: finish })],
        }),
      ],
      {
        artifacts: [{ name: 'work', kind: 'json', path: '{{ run.folder }}/work.json', required: true }],
        worklists: [
          { name: 'items', from: 'work', collection: 'items', id: 'id', title: 'title', status: 'status' },
        ],
      },
    );
    const keys = (from: number) =>
      runner.calls.slice(from).map((c) => `${c.step}${c.item ? `:${c.item}` : ''}`);
    await withScriptedRun(
      ctx,
      p,
      runner,
      async ({ handle, run, taskQueue }) => {
        const sop = new SopClient(ctx.client, { ...ctx.target, taskQueue });
        await expect(handle.result()).rejects.toThrow();
        expect(keys(0)).toEqual(['plan', 'implement:one', 'implement:two', 'implement:two']);

        const resumed = await sop.restart(p.sop, run.taskId, { resume: true });
        expect(routesOf((await resumed.result()) as RunResult)).toEqual([
          'plan:planned',
          'implement[one]:done',
          'implement[two]:done',
        ]);
        expect(keys(4)).toEqual(['implement:two']);
        await expect(sop.restart(p.sop, run.taskId, { resume: true })).rejects.toThrow(/nothing to resume/);

        const rerun = await sop.restart(p.sop, run.taskId, {
          rerun: { step: 'plan', context: 'Also keep digits' },
        });
        expect(((await rerun.result()) as RunResult).status).toBe('completed');
        expect(keys(5)).toEqual(['plan', 'implement:one', 'implement:two']);
        expect(runner.prompts('plan/agent')[1]).toContain('Also keep digits');
        expect(runner.prompts('plan/agent')[0]).not.toContain('Also keep digits');
      },
      { relaunchBackoffMs: 100 },
    );
  });
});
