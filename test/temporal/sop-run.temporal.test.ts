import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { startModelServer } from '../../src/scripted-model/model-server';
import { loadScenario } from '../../src/scripted-model/scenario';
import { DEMO_ROUTES, routeNames, slugifyRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';

// The main job, as a test: `sop run ralph_loop` on a copy of examples/slugify with the REAL Codex binary
// against the scripted model server, on the real dev server.
const root = path.join(__dirname, '..', '..');

test.each(['codex', 'claude'])(
  'sop run ralph_loop --provider %s: plan, two items with one rework, real harness edits, evidence on disk',
  async (provider) => {
    const model = await startModelServer(
      loadScenario(path.join(root, 'examples', 'demo', 'ralph_loop.scenario.yaml')),
    );
    try {
      const workspace = await slugifyRepo('sop-run-');
      const result = await runSop(
        [
          'run',
          'ralph_loop',
          'Make slugify collapse repeated whitespace and drop punctuation',
          '--workspace',
          workspace,
          '--task',
          `t-${provider}`,
          '--provider',
          provider,
          '--json',
        ],
        {
          env: {
            SOP_CODEX_BASE_URL: `${model.url}/v1`,
            SOP_CLAUDE_BASE_URL: model.url,
            SOP_TASK_QUEUE: 'sop-run-e2e',
          },
          timeoutMs: 180_000,
        },
      );
      expect(result.stderr).toContain('running: implement · item collapse-whitespace (1/2)');
      expect(result.exitCode).toBe(0);
      const out = JSON.parse(String(result.stdout));
      expect(out.status).toBe('completed');
      const routes = routeNames(out.result.routesTaken);
      expect(routes).toEqual(DEMO_ROUTES);

      // the code the real harness wrote passes its tests
      await execa('node', ['--test', 'test/'], { cwd: workspace });
      const { slugify } = require(path.join(workspace, 'src', 'slugify.js'));
      expect(slugify('  Hello,   World! ')).toBe('hello-world');
      // the worklist status was written back, the reviews exist, nothing else appeared in the repo
      const runFolder = path.join(workspace, '.sop', 'runs', 'ralph_loop', `t-${provider}`);
      const work = JSON.parse(fs.readFileSync(path.join(runFolder, 'work.json'), 'utf8'));
      expect(work.items.map((i: { status: string }) => i.status)).toEqual(['done', 'done']);
      expect(
        fs.readFileSync(path.join(runFolder, 'items', 'collapse-whitespace', 'review.md'), 'utf8'),
      ).toContain('accepted');
      const status = (await execa('git', ['status', '--porcelain'], { cwd: workspace })).stdout;
      expect(
        status
          .split('\n')
          .map((l) => l.slice(3))
          .sort(),
      ).toEqual(['.sop/', 'src/slugify.js', 'test/punctuation.test.js', 'test/whitespace.test.js']);
      // evidence per execution: prompt, transcript of real codex events, effective config
      const steps = (fs.readdirSync(path.join(runFolder, 'steps'), { recursive: true }) as string[])
        .filter((f) => f.endsWith('evidence.json'))
        .map((f) => path.dirname(f));
      expect(steps.length).toBe(out.result.usage.agentRuns); // one folder per agent execution
      expect(steps.length).toBeGreaterThanOrEqual(8); // plan ×2, item 1 ×4 (one rework), item 2 ×2
      const first = path.join(runFolder, 'steps', steps.sort()[0]);
      const evidence = JSON.parse(fs.readFileSync(path.join(first, 'evidence.json'), 'utf8'));
      expect(evidence.effectiveConfig.harness).toBe(provider);
      expect(evidence.effectiveConfig.argv).toContain(
        provider === 'codex' ? '--strict-config' : '--strict-mcp-config',
      );
      expect(fs.readFileSync(path.join(first, 'transcript.jsonl'), 'utf8')).toContain(
        provider === 'codex' ? '"type":"thread.started"' : '"subtype":"init"',
      );
      expect(out.result.usage.costUsd).toBeGreaterThan(0);
    } finally {
      await model.close();
    }
  },
  240_000,
);

test('sop run refuses bad input before any workflow starts, naming the field', async () => {
  const result = await runSop(['run', 'ralph_loop', '', '--workspace', os.tmpdir()]);
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toMatch(/input\.request/);
});

test('sop run names an unknown SOP with a suggestion (exit 3)', async () => {
  const result = await runSop(['run', 'ralph_lop', 'x']);
  expect(result.exitCode).toBe(3);
  expect(result.stderr).toContain('did you mean "ralph_loop"?');
});

test.each(['codex', 'claude'])(
  'sop cancel stops the real %s harness mid-command: run cancelled, no process left',
  async (provider) => {
    const marker = `sop-cancel-${provider}-${Date.now().toString(36)}`;
    const model = await startModelServer({
      rules: [
        {
          match: '# Plan the change',
          runs: [
            [{ shell: `node -e "setTimeout(() => {}, 300000)" ${marker}` }, { message: 'never reached' }],
          ],
        },
      ],
    });
    const running = async () =>
      (await execa('pgrep', ['-f', marker], { reject: false })).stdout.trim() !== '';
    try {
      const workspace = await slugifyRepo('sop-run-');
      const task = `cancel-${provider}`;
      const env = {
        SOP_CODEX_BASE_URL: `${model.url}/v1`,
        SOP_CLAUDE_BASE_URL: model.url,
        SOP_TASK_QUEUE: 'sop-run-e2e',
      };
      const run = runSop(
        ['run', 'ralph_loop', 'Anything', '--workspace', workspace, '--task', task, '--provider', provider],
        {
          env,
          timeoutMs: 120_000,
        },
      );
      for (let i = 0; i < 600 && !(await running()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await running()).toBe(true);
      const cancel = await runSop(['cancel', 'ralph_loop', task], { env });
      expect(cancel.exitCode).toBe(0);
      const result = await run;
      expect(`${result.stdout}${result.stderr}`).toMatch(/cancelled/);
      expect(result.exitCode).toBe(1);
      expect(await running()).toBe(false);
      const show = await runSop(['runs', 'show', 'ralph_loop', task, '--json'], { env });
      expect(JSON.parse(String(show.stdout)).status).toBe('cancelled');
    } finally {
      await model.close();
    }
  },
  180_000,
);
