import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SopClient } from '../../src/client';
import { ClaudeRunner } from '../../src/harnesses/claude';
import { CodexRunner } from '../../src/harnesses/codex';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import { compileSopDir } from '../../src/sop/compile';
import { planFromBundle } from '../../src/sop/plan-from-bundle';
import { makeWorkspace, servePlans } from '../support/plans';
import { runSop } from '../support/run-sop';
import {
  connectForTest,
  eventually,
  type TemporalTestContext,
  testTarget,
  withWorker,
} from '../support/temporal';

// A question the agent writes, through the real Codex and Claude Code binaries against the scripted model: its outcome (under
// the outcome schema with `ask`) asks a person, `sop runs show` shows it next to the SOP's question, the
// answer goes in with `sop answer`, and Codex's next conversation carries the question and the answer.

const ASK = {
  question: 'Is the crash on Linux only, or on macOS too?',
  reason: 'The report names no platform and the fix differs.',
  answer_schema: null,
};

let ctx: TemporalTestContext;
let model: ModelServer;
beforeAll(async () => {
  ctx = await connectForTest();
  model = await startModelServer({
    rules: (['codex', 'claude'] as const).map((provider) => ({
      match: `SOP asks-${provider},`,
      runs: [
        [{ final: { route: 'needs_info', summary: 'need the platform', details: '', ask: ASK } }],
        [{ final: { route: 'done', summary: 'triaged', details: '', ask: null } }],
      ],
    })),
  });
});
afterAll(async () => {
  await model?.close();
  await ctx?.close();
});

test.each(['codex', 'claude'] as const)(
  "%s: the agent's own question is shown by sop runs show, answered with sop answer, and reaches its next prompt",
  async (provider) => {
    const name = `asks-${provider}`;
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-asks-')), name);
    fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'prompts', 'triage.md'),
      'Triage the crash report: {{ input.request }}\n',
    );
    fs.writeFileSync(
      path.join(dir, 'sop.yaml'),
      [
        `name: ${name}`,
        'input: { request: string }',
        `defaults: { provider: ${provider} }`,
        'steps:',
        '  triage:',
        '    prompt: prompts/triage.md',
        '    routes:',
        '      done: finish',
        '      needs_info:',
        '        request_input:',
        '          question: Triage needs a person.',
        '          answer: { details: string }',
        '          agent_asks: true',
        '',
      ].join('\n'),
    );
    const compiled = compileSopDir(dir);
    expect(compiled.diagnostics).toEqual([]);
    const p = planFromBundle(compiled.bundle!);
    const run = makeWorkspace(name, 'q1');
    const codex = new CodexRunner({ baseUrl: `${model.url}/v1` });
    const claude = new ClaudeRunner({ baseUrl: model.url });
    await withWorker(
      ctx,
      async (taskQueue) => {
        const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
        const handle = await client.start(name, {
          task: 'q1',
          input: { request: 'the app crashes on start' },
          repo: { path: run.workspace },
        });
        await eventually(async () => {
          const status = await client.status(name, 'q1');
          return status.pendingInput ? status : undefined;
        }, 90_000);
        const shown = await runSop(['runs', 'show', name, 'q1']);
        expect(shown.stdout).toContain('waiting for input triage-1: Triage needs a person.');
        expect(shown.stdout).toContain(`  the agent asks: ${ASK.question}`);
        expect(shown.stdout).toContain(`  why: ${ASK.reason}`);

        const answered = await runSop(['answer', name, 'q1', '--value', '{"details": "macOS 14 as well"}']);
        expect(answered.exitCode).toBe(0);
        await handle.result();
        const texts = model.requests.filter((r) => r.rule === 0).map((r) => (r.userTexts ?? []).join('\n'));
        const second = texts.find((t) => t.includes('A person answered:'));
        expect(second).toContain(`You asked a person: "${ASK.question}"`);
        expect(second).toContain('macOS 14 as well');
      },
      { runners: { codex, claude }, ...servePlans(p) },
    );
  },
  240_000,
);
