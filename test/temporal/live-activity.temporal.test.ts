import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { SopClient } from '../../src/client';
import { ClaudeRunner } from '../../src/harnesses/claude';
import { CodexRunner } from '../../src/harnesses/codex';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import { packageRoot } from '../../src/temporal/package-paths';
import { finish, makeWorkspace, plan, role, route, servePlans, step, to } from '../support/plans';
import { connectForTest, type TemporalTestContext, testTarget, withWorker } from '../support/temporal';

// Issue 26 item 1, as an operator meets it: while an agent step runs, `sop logs -f` and `sop runs watch` show
// what the agent does, read from the Temporal server only (the activity's heartbeat details). The real
// harness binaries against the scripted model, which thinks for a while between the first tool call and the
// second: the first command must be on screen before the model has even sent the second.

const THINK_MS = 8_000;
let model: ModelServer;
let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
  model = await startModelServer({
    rules: [
      {
        match: 'Show your work live',
        runs: [
          [
            { shell: 'echo first-live-action' },
            { wait: { ms: THINK_MS } },
            { write: { path: 'second.txt', content: 'two\n' } },
            { final: { route: 'done', summary: 'shown', details: '' } },
          ],
        ],
      },
    ],
  });
});
afterAll(async () => {
  await model?.close();
  await ctx?.close();
});

/** A `sop` command left running, its stdout lines with the time each arrived. */
function follow(args: string[]) {
  const child = execa('node', [path.join(packageRoot, 'bin', 'sop.js'), ...args], {
    reject: false,
    stdin: 'ignore',
  });
  const lines: Array<{ text: string; at: number }> = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) lines.push({ text, at: Date.now() });
  });
  const first = async (pattern: RegExp, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.find((l) => pattern.test(l.text));
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(
          `no line matching ${pattern} within ${timeoutMs} ms:\n${lines.map((l) => l.text).join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  // `sop runs watch` says on stderr when it starts reading
  const ready = new Promise<void>((resolve) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('watching')) resolve();
    });
  });
  return { child, lines, first, ready };
}

test.each(['codex', 'claude'] as const)(
  '%s: sop logs -f and sop runs watch show the first command while the model still thinks about the second',
  async (harness) => {
    const name = `live-${harness}-${randomUUID().slice(0, 6)}`;
    const p = plan(name, [
      // the run waits for a go-ahead until both followers read it: their start-up is not what is tested
      step('go', {
        kind: 'input',
        input: { question: 'Go?', schema: { type: 'object' } },
        routes: [route('answered', to('fix'))],
      }),
      step('fix', {
        agent: { ...role('Show your work live.'), provider: harness },
        routes: [route('done', finish)],
      }),
    ]);
    const run = makeWorkspace(name, 't1');
    const runners =
      harness === 'codex'
        ? { codex: new CodexRunner({ baseUrl: `${model.url}/v1` }) }
        : { claude: new ClaudeRunner({ baseUrl: model.url }) };
    await withWorker(
      ctx,
      async (taskQueue) => {
        const client = new SopClient(ctx.client, { ...testTarget(), taskQueue });
        const asked = model.requests.length;
        const watch = follow(['runs', 'watch', '--sop', name, '--for', '120']);
        const handle = await client.start(p.sop, {
          task: 't1',
          input: { request: 'show it' },
          repo: { path: run.workspace },
        });
        const logs = follow(['logs', `${name}/t1`, '--follow']);
        try {
          await logs.first(/input requested/, 120_000);
          await watch.ready;
          await client.answer(name, 't1', {});
          const seen = await logs.first(/action\s+fix · agent · 1\s+\$ echo first-live-action/, 90_000);
          // the model has not sent the write yet: the action came through while the step still runs
          const write = model.requests
            .slice(asked)
            .find((r) => r.text?.includes('Show your work live') && r.reply === 'write');
          expect(write?.sentAtMs === undefined || write.sentAtMs > seen.at).toBe(true);
          expect(fs.existsSync(path.join(run.workspace, 'second.txt'))).toBe(false);
          // the Web UI's current details say where the actions are (the workflow never sees them)
          const { currentDetails } = await handle.query<{ currentDetails: string }>(
            '__temporal_workflow_metadata',
          );
          expect(currentDetails).toContain(
            `What the agent is doing: its latest actions are the heartbeat details of its activity under Pending Activities, or \`sop logs ${name}/t1 --follow\``,
          );
          const watched = await watch.first(/\$ echo first-live-action/, 10_000);
          expect(watched.text).toContain(`${name}/t1`);

          await handle.result();
          const followed = await logs.child;
          expect(followed.exitCode).toBe(0);
          const out = logs.lines.map((l) => l.text).join('\n');
          // the command's end with its exit code, then the file, each once, before the step's end
          expect(out).toMatch(
            /action\s+fix · agent · 1\s+exit 0: echo first-live-action → first-live-action/,
          );
          expect(out).toMatch(/action\s+fix · agent · 1\s+(add|write) second\.txt/);
          expect(out.match(/\$ echo first-live-action/g)).toHaveLength(1);
          const fileAt = logs.lines.findIndex((l) => /(add|write) second\.txt/.test(l.text));
          const endAt = logs.lines.findIndex((l) => /step finished\s+fix/.test(l.text));
          expect(fileAt).toBeLessThan(endAt);
          // the run folder keeps the full transcript as before
          const fix = path.join(run.runFolder, 'steps', 'fix');
          const [execution] = fs.readdirSync(fix);
          expect(fs.readFileSync(path.join(fix, execution, 'transcript.jsonl'), 'utf8')).toContain(
            'first-live-action',
          );
        } finally {
          logs.child.kill();
          watch.child.kill();
          await Promise.all([logs.child, watch.child]);
        }
      },
      { runners, ...servePlans(p) },
    );
  },
  240_000,
);
