import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { SopClient } from '../../src/client';
import { temporalDir } from '../../src/temporal/package-paths';
import { recordHistory } from '../support/histories';
import { finish, makeWorkspace, plan, role, route, runRequest, servePlans, step } from '../support/plans';
import { runSop } from '../support/run-sop';
import { ScriptedRunner } from '../support/scripted-runner';
import { catalogProject } from '../support/sop-project';
import { connectForTest, eventually, type TemporalTestContext, withWorker } from '../support/temporal';

// What `sop runs show` and `sop runs list` tell a person about a run, on the real dev server with the
// scripted runner standing in for the harness: the run folder and what started the run; a parent run that
// waits because a person is awaited in its child run; the usage of child runs rolled up into (and counted
// against the budgets of) their parent; who answered a tool approval; nothing running or waiting in a
// cancelled run; and the runs of `sop test` and child runs left out of `runs list` unless --all.

const project = catalogProject('runs-view-', {
  view_call: [
    'name: view_call',
    'input:',
    '  request: { type: string }',
    'steps:',
    '  call:',
    '    sop: view_child',
    '    input: { request: "{{ input.request }}" }',
    '    routes: { completed: after, failed: mend }',
    '  after:',
    '    prompt: prompts/work.md',
    '    routes: { done: finish }',
    '  mend:',
    '    prompt: prompts/work.md',
    '    routes: { done: finish }',
    '',
  ].join('\n'),
  view_child: [
    'name: view_child',
    'input:',
    '  request: { type: string }',
    'defaults: { max_rework: 5 }',
    'steps:',
    '  gate:',
    '    question: Go ahead?',
    '    routes: { approved: work, rejected: finish }',
    '  work:',
    '    prompt: prompts/work.md',
    '    routes: { again: work, done: finish, broken: { fail: "the work broke" } }',
    '',
  ].join('\n'),
  view_budget: [
    'name: view_budget',
    'input:',
    '  request: { type: string }',
    'budget: { max_agent_runs: 3 }',
    'steps:',
    '  call:',
    '    sop: view_grind',
    '    input: { request: "{{ input.request }}" }',
    '    routes: { completed: finish, failed: mend }',
    '  mend:',
    '    prompt: prompts/work.md',
    '    routes: { done: finish }',
    '',
  ].join('\n'),
  view_grind: [
    'name: view_grind',
    'input:',
    '  request: { type: string }',
    'defaults: { max_rework: 5 }',
    'steps:',
    '  work:',
    '    prompt: prompts/work.md',
    '    routes: { again: work, done: finish, broken: { fail: "the work broke" } }',
    '',
  ].join('\n'),
  view_solo: [
    'name: view_solo',
    'input:',
    '  request: { type: string }',
    'steps:',
    '  stamp:',
    '    run: "echo stamped > stamp.txt"',
    '    routes: { passed: finish }',
    '',
  ].join('\n'),
});

/** work: three reworks, then the last turn (done, or broken) */
const fourRuns = (last: 'done' | 'broken') => [
  { route: 'again', costUsd: 0.01 },
  { route: 'again', costUsd: 0.01 },
  { route: 'again', costUsd: 0.01 },
  { route: last, costUsd: 0.01 },
];

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

const show = async (run: string, env: Record<string, string> = {}) => {
  const text = await runSop(['runs', 'show', run], { cwd: project, env });
  const json = await runSop(['runs', 'show', run, '--json'], { cwd: project, env });
  expect({ text: text.exitCode, json: json.exitCode, stderr: `${text.stderr}${json.stderr}` }).toEqual({
    text: 0,
    json: 0,
    stderr: '',
  });
  return { text: String(text.stdout), json: JSON.parse(String(json.stdout)) };
};
const listed = async (args: string[]) => {
  const result = await runSop(['runs', 'list', ...args, '--json'], { cwd: project });
  expect(result.exitCode).toBe(0);
  return JSON.parse(String(result.stdout)) as Array<Record<string, unknown>>;
};

test('a parent whose child run waits for a person is waiting_input (in child …), listed under --status waiting_input; the child is hidden from runs list unless --all; the child’s usage rolls up into the parent', async () => {
  const task = `t-${randomUUID().slice(0, 8)}`;
  const { workspace } = makeWorkspace('view_call', task);
  const script = new ScriptedRunner({ 'work/agent': fourRuns('done'), 'after/agent': [{ route: 'done' }] });
  const parentId = `view_call/${task}`;
  const childId = `${parentId}/call`;
  const childTask = `view_call.${task}.call`;
  await withWorker(
    ctx,
    async (taskQueue) => {
      const sop = new SopClient(ctx.client, { ...ctx.target, taskQueue });
      const parent = await sop.start('view_call', {
        task,
        repo: { path: workspace },
        input: { request: 'x' },
      });

      // the child asks; the parent says where
      const waiting = await eventually(async () => {
        // a run request is resolved first: the status query answers once the interpreter runs
        const status = await sop.status('view_call', task).catch(() => undefined);
        return status?.status === 'waiting_input' ? status : undefined;
      }, 60_000);
      expect(waiting.waitingIn).toEqual({ workflowId: childId, sop: 'view_child', task: childTask });
      expect(waiting.pendingInputs).toEqual([]);
      const rows = await eventually(async () => {
        const found = await listed(['--status', 'waiting_input']);
        return found.some((r) => r.workflowId === parentId) ? found : undefined;
      });
      expect(rows.find((r) => r.workflowId === parentId)).toMatchObject({
        status: 'waiting_input',
        waitingIn: childId,
      });
      // the child itself is not listed by default: its parent stands for it
      expect(rows.some((r) => r.workflowId === childId)).toBe(false);
      expect((await listed(['--status', 'waiting_input', '--all'])).map((r) => r.workflowId)).toContain(
        childId,
      );
      const table = await runSop(['runs', 'list', '--sop', 'view_call'], { cwd: project });
      expect(String(table.stdout)).toMatch(new RegExp(`${task}\\s+waiting_input \\(in child ${childId}\\)`));
      const shown = await show(parentId);
      expect(shown.text).toContain(`view_call/${task}: waiting_input (in child ${childId})`);
      expect(shown.text).toContain(`sop answer ${childId}`);
      expect(shown.json).toMatchObject({ status: 'waiting_input', waitingIn: { workflowId: childId } });
      const { currentDetails } = await parent.query<{ currentDetails: string }>(
        '__temporal_workflow_metadata',
      );
      expect(currentDetails).toContain(`Waiting for input in child run \`${childId}\``);

      // answering the parent says where the question is; the child takes the answer
      const wrong = await runSop(['answer', parentId, '--approve'], { cwd: project });
      expect(wrong.exitCode).toBe(1);
      expect(wrong.stderr).toContain(`waits for input in its child run ${childId}`);
      expect((await runSop(['answer', childId, '--approve'], { cwd: project })).exitCode).toBe(0);
      await eventually(async () =>
        (await sop.status('view_call', task)).status === 'running' ? true : undefined,
      );
      await parent.result();
      await recordHistory(parent, 'request-sop-child-waiting');
      await recordHistory(ctx.client.workflow.getHandle(childId), 'request-sop-child-asks');
      const logs = String((await runSop(['logs', parentId, '--events'], { cwd: project })).stdout);
      expect(logs).toMatch(new RegExp(`child status\\s+${childId} waits for a person in ${childId}`));
      expect(logs).toMatch(new RegExp(`child status\\s+${childId} no longer waits for a person`));

      // the child's four agent runs are the parent's children's; the parent ran one of its own
      const done = await show(parentId);
      expect(done.json).toMatchObject({
        status: 'completed',
        usage: { agentRuns: 1, costUsd: 0.01 },
        childUsage: { agentRuns: 4, costUsd: 0.04 },
        totalUsage: { agentRuns: 5, costUsd: 0.05 },
      });
      expect(done.json.waitingIn).toBeUndefined();
      expect(done.text).toMatch(/^usage: 5 agent runs, .*\$0\.05\d* in all$/m);
      expect(done.text).toMatch(/^ {2}this run: 1 agent runs, /m);
      expect(done.text).toMatch(/^ {2}child runs: 4 agent runs, /m);

      // the child: hidden from runs list unless --all, and it says what started it
      expect(await listed(['--sop', 'view_child'])).toEqual([]);
      expect(await listed(['--sop', 'view_child', '--all'])).toEqual([
        expect.objectContaining({ workflowId: childId, kind: 'child', status: 'completed' }),
      ]);
      const allTable = await runSop(['runs', 'list', '--sop', 'view_child', '--all'], { cwd: project });
      expect(String(allTable.stdout)).toContain(`${childTask} (child run)`);
      const child = await show(childId);
      expect(child.json.startedBy).toMatchObject({ kind: 'call', parent: parentId, step: 'call' });
      expect(child.text).toContain(`started by step call of run ${parentId}`);
      expect(child.json.runFolder).toBe(path.join(workspace, '.sop', 'runs', 'view_child', childTask));
      expect(child.text).toContain(
        `run folder ${path.join(workspace, '.sop', 'runs', 'view_child', childTask)}`,
      );
    },
    { projectDir: project, runners: { codex: script } },
  );
}, 240_000);

test('what a failed child run used counts against its parent’s budget: the next agent run is refused, naming the child runs’ share', async () => {
  const task = `t-${randomUUID().slice(0, 8)}`;
  const { workspace } = makeWorkspace('view_budget', task);
  const script = new ScriptedRunner({ 'work/agent': fourRuns('broken'), 'mend/agent': [{ route: 'done' }] });
  await withWorker(
    ctx,
    async (taskQueue) => {
      const sop = new SopClient(ctx.client, { ...ctx.target, taskQueue });
      const parent = await sop.start('view_budget', {
        task,
        repo: { path: workspace },
        input: { request: 'x' },
      });
      await expect(parent.result()).rejects.toThrow();
      const shown = await show(`view_budget/${task}`);
      expect(shown.json).toMatchObject({
        status: 'failed',
        failure:
          'budget max_agent_runs (3) reached: 4 agent runs, 4 of them by child runs before mend could start',
        usage: { agentRuns: 0 },
        childUsage: { agentRuns: 4, costUsd: 0.04 },
        totalUsage: { agentRuns: 4 },
      });
      // mend never ran
      expect(script.calls.filter((c) => c.step === 'mend')).toEqual([]);
      const summary = JSON.parse(
        fs.readFileSync(path.join(workspace, '.sop', 'runs', 'view_budget', task, 'run.json'), 'utf8'),
      );
      expect(summary.childUsage).toMatchObject({ agentRuns: 4 });
      // run.json's childUsage is checked against history like its own usage
      const runJson = path.join(workspace, '.sop', 'runs', 'view_budget', task, 'run.json');
      const verify = () => runSop(['verify', '--against-history', 'view_budget', task], { cwd: project });
      const intact = await verify();
      expect({ exitCode: intact.exitCode, out: String(intact.stdout) }).toMatchObject({ exitCode: 0 });
      const original = fs.readFileSync(runJson, 'utf8');
      fs.writeFileSync(
        runJson,
        JSON.stringify({ ...summary, childUsage: { ...summary.childUsage, agentRuns: 1 } }),
      );
      const edited = await verify();
      expect(edited.exitCode).toBe(1);
      expect(`${edited.stdout}${edited.stderr}`).toMatch(/run\.json.*childUsage/);
      fs.writeFileSync(runJson, original);
    },
    { projectDir: project, runners: { codex: script } },
  );
}, 240_000);

test('runs show prints the run folder and who started the run (a person through sop, the temporal CLI); a cancelled run shows nothing running or waiting', async () => {
  const name = `view-${randomUUID().slice(0, 6)}`;
  const p = plan(name, [step('slow', { agent: role('Take your time.'), routes: [route('done', finish)] })]);
  const run = makeWorkspace(name, 'c1');
  const script = new ScriptedRunner({ 'slow/agent': [{ delayMs: 600_000 }] });
  const solo = `t-${randomUUID().slice(0, 8)}`;
  const soloWorkspace = makeWorkspace('view_solo', solo).workspace;
  await withWorker(
    ctx,
    async (taskQueue) => {
      // a person: `sop` sends user@host (SOP_IDENTITY here)
      const alice = await SopClient.connect({
        target: { ...ctx.target, taskQueue },
        startDevServer: false,
        identity: 'alice@laptop',
      });
      try {
        await alice.start(p.sop, runRequest(p, run, { input: { request: 'x' } }));
      } finally {
        await alice.close();
      }
      await eventually(async () => (script.calls.length > 0 ? true : undefined));
      const running = await show(`${name}/c1`);
      expect(running.json.startedBy).toEqual({ kind: 'client', identity: 'alice@laptop' });
      expect(running.text).toContain('started by alice@laptop');
      expect(running.json.runFolder).toBe(run.runFolder);
      expect(running.text).toContain(`run folder ${run.runFolder}`);
      expect(running.text).toMatch(/^now: slow · agent/m);

      expect((await runSop(['cancel', name, 'c1'])).exitCode).toBe(0);
      const cancelled = await eventually(async () => {
        const seen = await show(`${name}/c1`);
        return seen.json.status === 'cancelled' ? seen : undefined;
      }, 30_000);
      expect(cancelled.text).not.toMatch(/^now:/m);
      expect(cancelled.json.active).toBeUndefined();
      expect(cancelled.json.startedBy).toEqual({ kind: 'client', identity: 'alice@laptop' });

      // a run request from the temporal CLI: the identity it started the run with
      const request = {
        sop: 'view_solo',
        task: solo,
        repo: { path: soloWorkspace },
        input: { request: 'x' },
      };
      await execa(
        path.join(temporalDir, 'bin', 'temporal'),
        [
          'workflow',
          'start',
          '--address',
          ctx.target.address,
          '--type',
          'view_solo',
          '--task-queue',
          taskQueue,
          '--workflow-id',
          `view_solo/${solo}`,
          '--input',
          JSON.stringify(request),
        ],
        { stdin: 'ignore' },
      );
      const handle = ctx.client.workflow.getHandle(`view_solo/${solo}`);
      await handle.result();
      const identity = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes
        ?.identity;
      expect(identity).toMatch(/\S/);
      expect(identity).not.toBe('alice@laptop');
      const started = await show(`view_solo/${solo}`);
      expect(started.json.startedBy).toEqual({ kind: 'client', identity });
      expect(started.text).toContain(`started by ${identity}`);
      expect(started.text).toContain(
        `run folder ${path.join(soloWorkspace, '.sop', 'runs', 'view_solo', solo)}`,
      );
    },
    { projectDir: project, runners: { codex: script }, ...servePlans(p) },
  );
}, 180_000);

test('a tool approval shows who gave it in runs show, as an input answer does', async () => {
  const name = `view-ask-${randomUUID().slice(0, 6)}`;
  const p = plan(name, [
    step('mark', {
      agent: {
        ...role('Make the marker file.'),
        policy: { sandbox: 'workspace-write', ask: ['Bash(touch:*)'] },
        provider: 'claude',
      },
      routes: [route('done', finish)],
    }),
  ]);
  const run = makeWorkspace(name, 'a1');
  const script = new ScriptedRunner({
    'mark/agent': [{ askTool: { name: 'Bash', input: { command: 'touch marker.txt' } }, route: 'done' }],
  });
  await withWorker(
    ctx,
    async (taskQueue) => {
      const sop = new SopClient(ctx.client, { ...ctx.target, taskQueue });
      const handle = await sop.start(p.sop, runRequest(p, run, { input: { request: 'x' } }));
      await eventually(async () => ((await sop.status(name, 'a1')).pendingInput ? true : undefined), 60_000);
      const answer = await runSop(['answer', name, 'a1', '--approve'], { env: { SOP_IDENTITY: 'bob@desk' } });
      expect(answer.exitCode).toBe(0);
      await handle.result();
      const shown = await show(`${name}/a1`);
      expect(shown.json.answers).toEqual([
        expect.objectContaining({
          kind: 'tool_approval',
          step: 'mark',
          route: 'approved',
          by: 'bob@desk',
          at: expect.stringMatching(/^\d{4}-/),
        }),
      ]);
      expect(shown.text).toMatch(/^ {2}mark → approved → Bash call: \{"approve":true\} by bob@desk at /m);
    },
    { runners: { claude: script }, ...servePlans(p) },
  );
}, 120_000);

test('the runs of sop test are marked and left out of runs list unless --all', async () => {
  const testProject = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-view-test-'));
  const sop = `view-t-${randomUUID().slice(0, 6)}`;
  const dir = path.join(testProject, 'sops', sop);
  fs.mkdirSync(path.join(dir, 'tests', 'repo'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'sop.yaml'),
    [
      `name: ${sop}`,
      'input:',
      '  request: { type: string }',
      'steps:',
      '  stamp:',
      '    run: "echo stamped > stamp.txt"',
      '    routes: { passed: finish }',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'tests', 'repo', 'README.md'), '# repo\n');
  fs.writeFileSync(
    path.join(dir, 'tests', 'stamps.yaml'),
    [
      'repo: repo',
      'input: { request: stamp }',
      'scenario:',
      '  rules:',
      '    - match: "nothing asks the model"',
      '      runs:',
      '        - - final: { route: done, summary: "", details: "" }',
      'expect:',
      '  status: completed',
      '  routes: [stamp:passed]',
      '',
    ].join('\n'),
  );
  const tested = await runSop(['test', '-C', testProject], { cwd: testProject, timeoutMs: 180_000 });
  expect({
    exitCode: tested.exitCode,
    out: tested.exitCode === 0 ? '' : `${tested.stdout}${tested.stderr}`,
  }).toEqual({
    exitCode: 0,
    out: '',
  });
  expect(await listed(['--sop', sop])).toEqual([]);
  const all = await listed(['--sop', sop, '--all']);
  expect(all).toEqual([expect.objectContaining({ sop, kind: 'test', status: 'completed' })]);
  const table = await runSop(['runs', 'list', '--sop', sop, '--all'], { cwd: testProject });
  expect(String(table.stdout)).toMatch(/\(sop test\)\s+completed/);
}, 240_000);
