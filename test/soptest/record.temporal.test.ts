import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { startModelServer } from '../../src/scripted-model/model-server';
import { loadScenario, type Scenario } from '../../src/scripted-model/scenario';
import { packageRoot } from '../../src/temporal/package-paths';
import { routeNames, slugifyRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';

// `sop run --record`: a real run whose harness talks to its model API (here the scripted model server as
// the upstream) through the recording proxy; the recording, replayed by `sop test`, takes the same routes
// and writes the same artifacts. The key the harness sends never reaches the file.
const request = "slugify('Hello, World!') keeps the punctuation: it returns 'hello,-world!'";
const secret = 'sk-record-test-secret-4f9a2c71';

test.each(['codex', 'claude'] as const)(
  'sop run --record (%s) writes a scenario that sop test replays to the same routes and artifacts',
  async (provider) => {
    const upstream = await startModelServer(
      loadScenario(path.join(packageRoot, 'sops', 'bugfix', 'tests', 'scenarios', 'rework.yaml')),
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-record-'));
    const recording = path.join(dir, 'recorded.yaml');
    try {
      const workspace = await slugifyRepo('sop-record-ws-');
      const task = `rec-${provider}`;
      const run = await runSop(
        [
          'run',
          'bugfix',
          request,
          '--workspace',
          workspace,
          '--task',
          task,
          '--provider',
          provider,
          '--param',
          'test_command=node --test test/',
          '--record',
          recording,
          '--json',
        ],
        {
          env: {
            SOP_CODEX_BASE_URL: `${upstream.url}/v1`,
            SOP_CLAUDE_BASE_URL: upstream.url,
            SOP_TASK_QUEUE: `sop-record-${provider}`,
            OPENAI_API_KEY: secret,
            ANTHROPIC_API_KEY: secret,
          },
          timeoutMs: 300_000,
        },
      );
      expect(run.exitCode).toBe(0);
      expect(String(run.stderr)).toMatch(/recorded \d+ model replies in 4 conversations to /);
      const out = JSON.parse(String(run.stdout));
      const routes = routeNames(out.result.routesTaken);
      expect(routes).toEqual([
        'reproduce:reproduced',
        'fix:fixed',
        'test:failed',
        'fix:fixed',
        'test:passed',
        'verify:accepted',
      ]);
      // every model call went through the proxy to the upstream
      expect(upstream.requests.filter((r) => r.reply).length).toBeGreaterThanOrEqual(9);

      const text = fs.readFileSync(recording, 'utf8');
      expect(text).not.toContain(secret);
      expect(text).toMatch(new RegExp(`^# Recorded by \`sop run --record\` from bugfix/${task} `));
      // the replies know neither this workspace nor this task: they replay in another
      const body = text.replace(/^#.*\n/gm, '');
      expect(body).not.toContain(workspace);
      expect(body).not.toContain(task);
      expect(text).toContain('{{ run.folder }}/reproduction.json');
      // one rule per step contract; the fix step's two conversations are its two runs, in order
      const rules = (parse(text) as Scenario).rules;
      const fix = rules.find(
        (r) => r.match === '/## Step contract \\(SOP bugfix, step fix, agent, attempt 1\\)$/m',
      );
      expect(fix?.runs).toHaveLength(2);
      expect(rules).toHaveLength(3);

      // replay: a test next to a copy of the SOP, expecting what the recorded run did
      const runFolder = path.join(workspace, '.sop', 'runs', 'bugfix', task);
      const project = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-replay-'));
      const sop = path.join(project, 'sops', 'bugfix');
      fs.cpSync(path.join(packageRoot, 'sops', 'bugfix'), sop, {
        recursive: true,
        filter: (src) => !src.includes(`${path.sep}tests`),
      });
      fs.mkdirSync(path.join(sop, 'tests'));
      const read = (file: string) => fs.readFileSync(file, 'utf8');
      fs.writeFileSync(
        path.join(sop, 'tests', 'replay.yaml'),
        stringify({
          scenario: recording,
          repo: path.join(packageRoot, 'examples', 'slugify'),
          provider,
          input: { request },
          params: { test_command: 'node --test test/' },
          expect: {
            status: 'completed',
            routes,
            agent_runs: out.result.usage.agentRuns,
            files_changed: ['src/slugify.js', 'test/punctuation.test.js'],
            artifacts: {
              reproduction: { contains: read(path.join(runFolder, 'reproduction.json')) },
              review: { contains: read(path.join(runFolder, 'review.md')) },
              'src/slugify.js': { contains: read(path.join(workspace, 'src', 'slugify.js')) },
              'test/punctuation.test.js': {
                contains: read(path.join(workspace, 'test', 'punctuation.test.js')),
              },
            },
          },
        }),
      );
      const replay = await runSop(['test', 'bugfix', '-C', project], { timeoutMs: 300_000 });
      expect(String(replay.stdout)).toMatch(/^bugfix\s+replay\s+PASS\s+completed\s/m);
      expect(replay.exitCode).toBe(0);
    } finally {
      await upstream.close();
    }
  },
  600_000,
);

test('--record refuses --detach and --no-worker: only the in-process worker goes through the proxy', async () => {
  const result = await runSop(
    ['run', 'review', '--record', 'x.yaml', '--no-worker', '--workspace', os.tmpdir()],
    {
      agreement: false,
    },
  );
  expect(result.exitCode).toBe(2);
  expect(String(result.stderr)).toContain('--record needs the in-process worker');
});
