import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SopClient } from '../../src/client';
import { ClaudeRunner } from '../../src/harnesses/claude';
import { startModelServer } from '../../src/scripted-model/model-server';
import { compileSopDir } from '../../src/sop/compile';
import { planFromBundle } from '../../src/sop/plan-from-bundle';
import { finish, makeWorkspace, plan, route, runRequest, servePlans, step } from '../support/plans';
import { runSop } from '../support/run-sop';
import { ScriptedRunner } from '../support/scripted-runner';
import {
  connectForTest,
  eventually,
  type TemporalTestContext,
  testTarget,
  withWorker,
} from '../support/temporal';

// Human approval that can say no: an approval gate routes on the answer, and a step's `ask:` policy makes
// Claude Code's tool calls wait for a person. Answers go through the real `sop` binary, as a person's
// would, with the identity a person's client sends.

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

const alice = { SOP_IDENTITY: 'alice@laptop' };

function compiledPlan(name: string, yaml: string, files: Record<string, string>) {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-approval-')), name);
  for (const [file, text] of Object.entries({ 'sop.yaml': yaml, ...files })) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  const compiled = compileSopDir(dir);
  expect(compiled.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return planFromBundle(compiled.bundle!);
}

async function waitingFor(client: SopClient, sop: string, task: string) {
  return eventually(async () => {
    const status = await client.status(sop, task);
    return status.status === 'waiting_input' && status.pendingInput ? status : undefined;
  }, 60_000);
}

test('an approval rejected with sop answer --reject takes its rejected route; the reason reaches the next prompt; who answered is in runs show, logs and the evidence', async () => {
  const name = `gate-${randomUUID().slice(0, 6)}`;
  const p = compiledPlan(
    name,
    `name: ${name}
input: { request: string }
steps:
  fix:
    prompt: prompts/fix.md
    routes: { done: approve }
  approve:
    question: Ship the fix?
    routes:
      approved: finish
      rejected: fix
`,
    { 'prompts/fix.md': 'Fix {{ input.request }}.\n' },
  );
  const runner = new ScriptedRunner({ 'fix/agent': [{ route: 'done' }, { route: 'done' }] });
  const run = makeWorkspace(name, 't3');
  await withWorker(
    ctx,
    async (taskQueue) => {
      const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
      const handle = await client.start(p.sop, {
        task: 't3',
        input: { request: 'the crash' },
        repo: { path: run.workspace },
      });
      await waitingFor(client, name, 't3');

      const shown = await runSop(['runs', 'show', name, 't3']);
      expect(shown.stdout).toContain('waiting for input approve-1: Ship the fix?');
      expect(shown.stdout).toContain(`sop answer ${name} t3 --approve | --reject WHY`);

      const rejected = await runSop(['answer', name, 't3', '--reject', 'needs a changelog entry'], {
        env: alice,
      });
      expect(rejected.exitCode).toBe(0);
      // the rejected route goes back to fix, whose next prompt carries the reason and who gave it
      await eventually(async () => (runner.prompts('fix/agent').length === 2 ? true : undefined), 30_000);
      expect(runner.prompts('fix/agent')[1]).toMatch(
        /A person \(alice@laptop\) rejected at step approve \("Ship the fix\?"\): needs a changelog entry/,
      );

      await waitingFor(client, name, 't3');
      expect(
        (await runSop(['answer', `${name}/t3`, '--approve'], { env: { SOP_IDENTITY: 'bob@desk' } })).exitCode,
      ).toBe(0);
      await handle.result();

      const done = JSON.parse(String((await runSop(['runs', 'show', name, 't3', '--json'])).stdout));
      expect(done.routesTaken).toEqual([
        { step: 'fix', route: 'done', target: 'approve' },
        { step: 'approve', route: 'rejected', target: 'fix' },
        { step: 'fix', route: 'done', target: 'approve' },
        { step: 'approve', route: 'approved', target: 'finish' },
      ]);
      expect(done.answers).toEqual([
        expect.objectContaining({
          step: 'approve',
          route: 'rejected',
          target: 'fix',
          value: { approve: false, guidance: 'needs a changelog entry' },
          by: 'alice@laptop',
          at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        }),
        expect.objectContaining({ route: 'approved', value: { approve: true }, by: 'bob@desk' }),
      ]);
      const text = (await runSop(['runs', 'show', name, 't3'])).stdout;
      expect(text).toMatch(
        /approve → rejected → fix: \{"approve":false,"guidance":"needs a changelog entry"\} by alice@laptop at /,
      );

      const logs = (await runSop(['logs', name, 't3', '--events'])).stdout;
      expect(logs).toMatch(
        /input answered\s+approve-1: \{"approve":false,"guidance":"needs a changelog entry"\} by alice@laptop/,
      );
      expect(logs).toMatch(/answer recorded\s+approve: rejected → fix by alice@laptop/);

      // the evidence: one record per answer, in the run folder, covered by the pack's hash chain
      const records = fs
        .readdirSync(path.join(run.runFolder, 'steps', 'approve'))
        .map((f) =>
          JSON.parse(
            fs.readFileSync(path.join(run.runFolder, 'steps', 'approve', f, 'evidence.json'), 'utf8'),
          ),
        );
      expect(records).toEqual([
        expect.objectContaining({
          kind: 'answer',
          route: 'rejected',
          by: 'alice@laptop',
          answer: { approve: false, guidance: 'needs a changelog entry' },
        }),
        expect.objectContaining({ kind: 'answer', route: 'approved', by: 'bob@desk' }),
      ]);
      const executions = fs
        .readFileSync(path.join(run.runFolder, 'executions.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(executions.map((e) => [e.kind, e.step, e.route ?? null, e.by ?? null])).toEqual([
        ['agent', 'fix', 'done', null],
        ['answer', 'approve', 'rejected', 'alice@laptop'],
        ['agent', 'fix', 'done', null],
        ['answer', 'approve', 'approved', 'bob@desk'],
      ]);
      const pack = path.join(run.workspace, 'pack.tar.gz');
      const exported = await runSop(['runs', 'export', name, 't3', '-o', pack]);
      expect(exported.stdout).toMatch(/4 evidence records/);
      expect((await runSop(['verify', pack])).exitCode).toBe(0);
    },
    { runners: { codex: runner }, ...servePlans(p) },
  );
}, 180_000);

test('an input question names the run input and params, rendered by the run: runs show and the answer record show it', async () => {
  const name = `ctx-${randomUUID().slice(0, 6)}`;
  const p = compiledPlan(
    name,
    `name: ${name}
input: { request: string }
params:
  target: { type: string, default: staging }
steps:
  approve:
    question: "Deploy {{ input.request }} to {{ params.target }}?"
    routes:
      approved: finish
      rejected: fail
`,
    {},
  );
  const run = makeWorkspace(name, 'q1');
  await withWorker(
    ctx,
    async (taskQueue) => {
      const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
      const handle = await client.start(
        p.sop,
        runRequest(p, run, { input: { request: 'the login fix' }, params: { target: 'production' } }),
      );
      const status = await waitingFor(client, name, 'q1');
      expect(status.pendingInput?.question).toBe('Deploy the login fix to production?');
      const shown = await runSop(['runs', 'show', name, 'q1']);
      expect(shown.stdout).toContain('waiting for input approve-1: Deploy the login fix to production?');
      expect((await runSop(['answer', name, 'q1', '--approve'], { env: alice })).exitCode).toBe(0);
      await handle.result();
      const [record] = fs
        .readdirSync(path.join(run.runFolder, 'steps', 'approve'))
        .map((f) =>
          JSON.parse(
            fs.readFileSync(path.join(run.runFolder, 'steps', 'approve', f, 'evidence.json'), 'utf8'),
          ),
        );
      expect(record).toMatchObject({ kind: 'answer', question: 'Deploy the login fix to production?' });
    },
    servePlans(p),
  );
}, 120_000);

test('route_on routes on an enum field of a JSON answer', async () => {
  const name = `enum-${randomUUID().slice(0, 6)}`;
  const p = plan(name, [
    step('triage', {
      kind: 'input',
      input: {
        question: 'What now?',
        schema: {
          type: 'object',
          required: ['decision'],
          properties: { decision: { enum: ['ship', 'drop'] }, note: { type: 'string' } },
        },
        routeOn: { kind: 'field', field: 'decision' },
      },
      routes: [route('ship', finish), route('drop', { kind: 'fail', reason: 'dropped by a person' })],
    }),
  ]);
  const run = makeWorkspace(name, 'e1');
  await withWorker(
    ctx,
    async (taskQueue) => {
      const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
      const handle = await client.start(p.sop, {
        task: 'e1',
        input: { request: 'x' },
        repo: { path: run.workspace },
      });
      const status = await waitingFor(client, name, 'e1');
      expect(status.pendingInput?.routes).toEqual(['ship', 'drop']);
      const wrong = await runSop(['answer', name, 'e1', '--value', '{"decision":"maybe"}']);
      expect(wrong.exitCode).toBe(1);
      expect(wrong.stderr).toContain('answer/decision');
      expect(
        (
          await runSop(['answer', name, 'e1', '--value', '{"decision":"drop","note":"not now"}'], {
            env: alice,
          })
        ).exitCode,
      ).toBe(0);
      await expect(handle.result()).rejects.toThrow();
      const shown = JSON.parse(String((await runSop(['runs', 'show', name, 'e1', '--json'])).stdout));
      expect(shown).toMatchObject({
        status: 'failed',
        failure: expect.stringContaining('dropped by a person'),
      });
      expect(fs.readFileSync(path.join(run.runFolder, 'executions.jsonl'), 'utf8')).toContain(
        '"by":"alice@laptop"',
      );
    },
    servePlans(p),
  );
}, 120_000);

describe('per-tool-call approval through the real Claude Code binary', () => {
  const touch = (file: string) => ({ shell: `touch ${file}` });
  const done = { final: { route: 'done', summary: 'done', details: '' } };

  async function askRun(decision: 'approve' | 'reject') {
    const model = await startModelServer({
      rules: [{ match: 'Make the marker', runs: [[touch('approved.txt'), done]] }],
    });
    const name = `ask-${decision}-${randomUUID().slice(0, 6)}`;
    const p = plan(name, [
      step('mark', {
        agent: {
          prompt: 'Make the marker file.',
          promptFile: 'prompts/mark.md',
          writes: [],
          policy: { sandbox: 'workspace-write', ask: ['Bash(touch:*)'] },
          provider: 'claude',
        },
        routes: [route('done', finish)],
        timeoutMs: 120_000,
      }),
    ]);
    const run = makeWorkspace(name, 'a1');
    try {
      await withWorker(
        ctx,
        async (taskQueue) => {
          const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
          const handle = await client.start(p.sop, {
            task: 'a1',
            input: { request: 'x' },
            repo: { path: run.workspace },
          });
          const status = await waitingFor(client, name, 'a1').catch(async (err) => {
            const folder = path.join(run.runFolder, 'steps');
            const files = fs.existsSync(folder) ? fs.readdirSync(folder, { recursive: true }) : [];
            console.error(files, (await runSop(['logs', name, 'a1'])).stdout);
            for (const f of files as string[])
              if (f.endsWith('transcript.jsonl'))
                console.error(fs.readFileSync(path.join(folder, f), 'utf8').slice(0, 3000));
            throw err;
          });
          expect(status.pendingInput).toMatchObject({
            kind: 'tool_approval',
            step: 'mark',
            tool: { name: 'Bash', input: { command: 'touch approved.txt' }, role: 'agent' },
          });
          // nothing ran yet: the call waits for a person
          expect(fs.existsSync(path.join(run.workspace, 'approved.txt'))).toBe(false);
          const listed = await eventually(async () => {
            const rows = JSON.parse(
              String((await runSop(['runs', 'list', '--status', 'waiting_input', '--json'])).stdout),
            );
            return rows.some((r: { sop: string }) => r.sop === name) ? rows : undefined;
          });
          expect(listed).toContainEqual(
            expect.objectContaining({ sop: name, taskId: 'a1', status: 'waiting_input' }),
          );
          const { currentDetails } = await handle.query<{ currentDetails: string }>(
            '__temporal_workflow_metadata',
          );
          expect(currentDetails).toMatch(
            /Waiting for approval `mark-tool-\S+`: Allow Bash \{"command":"touch approved.txt"/,
          );
          const shown = (await runSop(['runs', 'show', name, 'a1'])).stdout;
          expect(shown).toMatch(
            /waiting for approval mark-tool-\S+: Bash \{"command":"touch approved.txt".*\(mark · agent · attempt 1\)/,
          );
          const answer =
            decision === 'approve'
              ? await runSop(['answer', name, 'a1', '--approve'], { env: alice })
              : await runSop(['answer', name, 'a1', '--reject', 'no markers today'], { env: alice });
          expect(answer.exitCode).toBe(0);
          await handle.result();
        },
        { runners: { claude: new ClaudeRunner({ baseUrl: model.url }) }, ...servePlans(p) },
      );
    } finally {
      await model.close();
    }
    const [execution] = fs
      .readFileSync(path.join(run.runFolder, 'executions.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const evidence = JSON.parse(
      fs.readFileSync(path.join(run.runFolder, execution.path, 'evidence.json'), 'utf8'),
    );
    const logs = (await runSop(['logs', name, 'a1', '--events'])).stdout;
    return { run, execution, evidence, logs };
  }

  test('approving lets the command run', async () => {
    const { run, execution, evidence, logs } = await askRun('approve');
    expect(fs.existsSync(path.join(run.workspace, 'approved.txt'))).toBe(true);
    expect(evidence.toolApprovals).toEqual([
      expect.objectContaining({
        tool: 'Bash',
        input: expect.objectContaining({ command: 'touch approved.txt' }),
        approved: true,
        by: 'alice@laptop',
      }),
    ]);
    expect(execution.toolApprovals).toEqual([{ tool: 'Bash', approved: true, by: 'alice@laptop' }]);
    expect(logs).toMatch(/tool approval\s+mark: Bash \{"command":"touch approved.txt"/);
    expect(logs).toMatch(/input answered\s+mark-tool-\S+: \{"approve":true\} by alice@laptop/);
  }, 240_000);

  test('rejecting denies it, and the denial is recorded', async () => {
    const { run, execution, evidence } = await askRun('reject');
    expect(fs.existsSync(path.join(run.workspace, 'approved.txt'))).toBe(false);
    expect(evidence.toolApprovals).toEqual([
      expect.objectContaining({
        tool: 'Bash',
        approved: false,
        by: 'alice@laptop',
        reason: expect.stringContaining('no markers today'),
      }),
    ]);
    expect(JSON.stringify(evidence.denials)).toContain('touch approved.txt');
    expect(JSON.stringify(execution.denials)).toContain('touch approved.txt');
    expect(execution.toolApprovals).toEqual([{ tool: 'Bash', approved: false, by: 'alice@laptop' }]);
  }, 240_000);
});

test('every documented ask: form makes its call wait for a person, and a rejected call does not happen (Write(path) is asked about as Edit(path))', async () => {
  // the README's forms, in one Claude step compiled from YAML: a command prefix, file edits under a glob
  // (also written with Write, which Claude Code alone ignores), reads, and the web tools of a step with
  // network: open
  const name = `askforms-${randomUUID().slice(0, 6)}`;
  const p = compiledPlan(
    name,
    `name: ${name}
input: { request: string }
steps:
  change:
    prompt: prompts/change.md
    provider: claude
    timeout: 5m
    policy:
      sandbox: workspace-write
      network: open
      ask: ["Bash(touch:*)", "Edit(migrations/**)", "Write(guarded/**)", "Read(secrets/**)", "WebFetch(domain:example.com)", "WebSearch"]
    routes: { done: finish }
`,
    { 'prompts/change.md': 'Change the schema: {{ input.request }}.\n' },
  );
  const calls = [
    { shell: 'touch marker.txt' },
    { write: { path: 'migrations/001.sql', content: 'drop table users;\n' } },
    { write: { path: 'guarded/x.txt', content: 'x\n' } },
    { read: 'secrets/key.txt' },
    { tool: { name: 'WebFetch', input: { url: 'http://example.com/docs', prompt: 'summarise' } } },
    { tool: { name: 'WebSearch', input: { query: 'schema migration' } } },
  ];
  const model = await startModelServer({
    rules: [
      {
        match: 'Change the schema',
        runs: [[...calls, { final: { route: 'done', summary: 'done', details: '' } }]],
      },
    ],
  });
  const run = makeWorkspace(name, 'f1');
  fs.mkdirSync(path.join(run.workspace, 'secrets'));
  fs.writeFileSync(path.join(run.workspace, 'secrets', 'key.txt'), 'canary-key-41d\n');
  const expected: Array<[string, Record<string, unknown>]> = [
    ['Bash', { command: 'touch marker.txt' }],
    ['Write', { file_path: path.join(run.workspace, 'migrations', '001.sql') }],
    ['Write', { file_path: path.join(run.workspace, 'guarded', 'x.txt') }],
    ['Read', { file_path: path.join(run.workspace, 'secrets', 'key.txt') }],
    ['WebFetch', { url: 'http://example.com/docs' }],
    ['WebSearch', { query: 'schema migration' }],
  ];
  try {
    await withWorker(
      ctx,
      async (taskQueue) => {
        const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
        const handle = await client.start(p.sop, {
          task: 'f1',
          input: { request: 'drop users' },
          repo: { path: run.workspace },
        });
        let previous: string | undefined;
        for (const [tool, input] of expected) {
          const status = await eventually(async () => {
            const s = await client.status(name, 'f1');
            const pending = s.pendingInput;
            return s.status === 'waiting_input' && pending && pending.requestId !== previous ? s : undefined;
          }, 60_000);
          previous = status.pendingInput?.requestId;
          expect(status.pendingInput).toMatchObject({
            kind: 'tool_approval',
            step: 'change',
            tool: { name: tool, input: expect.objectContaining(input) },
          });
          // the call waits: nothing of it has happened
          expect(fs.existsSync(path.join(run.workspace, 'marker.txt'))).toBe(false);
          expect(fs.existsSync(path.join(run.workspace, 'migrations'))).toBe(false);
          expect(fs.existsSync(path.join(run.workspace, 'guarded'))).toBe(false);
          const answer = await runSop(['answer', name, 'f1', '--reject', `no ${tool} today`], { env: alice });
          expect(answer.exitCode).toBe(0);
        }
        await handle.result();
      },
      { runners: { claude: new ClaudeRunner({ baseUrl: model.url }) }, ...servePlans(p) },
    );
  } finally {
    await model.close();
  }
  // rejected: no marker, no migration, the key never reached the model
  expect(fs.existsSync(path.join(run.workspace, 'marker.txt'))).toBe(false);
  expect(fs.existsSync(path.join(run.workspace, 'migrations', '001.sql'))).toBe(false);
  expect(fs.existsSync(path.join(run.workspace, 'guarded', 'x.txt'))).toBe(false);
  const outputs = model.requests.flatMap((r) => r.toolOutputs ?? []).join('\n');
  expect(outputs).toContain('no Read today');
  expect(outputs).not.toContain('canary-key-41d');
  const [execution] = fs
    .readFileSync(path.join(run.runFolder, 'executions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(execution.toolApprovals).toEqual(
    expected.map(([tool]) => ({ tool, approved: false, by: 'alice@laptop' })),
  );
  const evidence = JSON.parse(
    fs.readFileSync(path.join(run.runFolder, execution.path, 'evidence.json'), 'utf8'),
  );
  // the effective policy says what Claude Code was given, and what was translated
  expect(evidence.effectiveConfig.translations).toEqual([
    { from: 'Write(guarded/**)', to: 'Edit(guarded/**)' },
  ]);
  expect(evidence.effectiveConfig.policy.ask).toEqual([
    'Bash(touch:*)',
    'Edit(migrations/**)',
    'Edit(guarded/**)',
    'Read(secrets/**)',
    'WebFetch(domain:example.com)',
    'WebSearch',
  ]);
  expect(evidence.effectiveConfig.enforced.ask).toContain('Write(guarded/**) -> Edit(guarded/**)');
}, 240_000);

test('a step with ask: on Codex is refused before launch', async () => {
  const name = `askcodex-${randomUUID().slice(0, 6)}`;
  const p = plan(name, [
    step('mark', {
      agent: {
        prompt: 'Make the marker file.',
        promptFile: 'prompts/mark.md',
        writes: [],
        policy: { sandbox: 'workspace-write', ask: ['Bash(touch:*)'], validation: 'warn' },
        provider: 'codex',
      },
      routes: [route('done', finish)],
    }),
  ]);
  const run = makeWorkspace(name, 'c1');
  await withWorker(
    ctx,
    async (taskQueue) => {
      const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
      const handle = await client.start(p.sop, {
        task: 'c1',
        input: { request: 'x' },
        repo: { path: run.workspace },
      });
      await expect(handle.result()).rejects.toThrow();
      const shown = JSON.parse(String((await runSop(['runs', 'show', name, 'c1', '--json'])).stdout));
      expect(shown.failure).toMatch(/codex cannot enforce ask/);
      expect(fs.existsSync(path.join(run.runFolder, 'executions.jsonl'))).toBe(false);
    },
    servePlans(p),
  );
}, 120_000);
