import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { execa } from 'execa';
import { type ScriptedForge, startScriptedForge } from '../../src/scripted-forge/server';
import { startModelServer } from '../../src/scripted-model/model-server';
import type { RunStatusView } from '../../src/shapes/messages';
import type { RunResult } from '../../src/shapes/run';
import { temporalDir } from '../../src/temporal/package-paths';
import { type FleetWorker, startFleetWorker } from '../support/fleet-worker';
import { runSop } from '../support/run-sop';
import { git } from '../support/scripted-forge';
import { connectForTest, eventually, type TemporalTestContext, testTarget } from '../support/temporal';

// A run that ends as a pull request, end to end: real `sop worker` processes (each a machine of its own) running
// real Codex against the scripted model, a scripted forge holding the repository, its issue and the SOP (in
// .sop/sops/), and the workers' token a canary. The runtime fetches and pushes the run branch over HTTP with
// the token and opens the pull request with the run's record; the agent never gets the token.

const SOP = 'fixit';
const CANARY = `ghp_canary${randomUUID().replace(/-/g, '')}`;
const FULL = 'acme/widgets';
const sharedQueue = `forge-${randomUUID().slice(0, 8)}`;
// outside /tmp: Codex refuses to work from there
const machines = fs.mkdtempSync(path.join(os.homedir(), '.sop-forge-e2e-'));
let ctx: TemporalTestContext;
let model: Awaited<ReturnType<typeof startModelServer>>;
let forge: ScriptedForge;
let cloneUrl: string;
let issue: number;
const workers: FleetWorker[] = [];

const SOP_YAML = `name: ${SOP}
title: Fix an issue and open a pull request
version: 1
input:
  request: { type: string, minLength: 1 }
  issue: { type: integer }
defaults: { provider: codex, policy: edit }
policies:
  edit: { sandbox: workspace-write, network: none }
steps:
  fix:
    prompt: prompts/fix.md
    routes:
      done: { to: check }
  check:
    run: test -f fix.txt
    routes:
      passed: { finish: true }
      failed: { fail: the fix is missing }
deliver:
  pull_request:
    title: "Fix #{{ input.issue }}: {{ input.request }}"
    body: "Closes #{{ input.issue }}."
  comments:
    tell:
      issue: "{{ input.issue }}"
      body: "The run opened {{ pull_request.url }}"
  statuses:
    ci: { context: sop/fixit }
  agent:
    labels: { issue: "{{ input.issue }}", allowed: [bug], max: 1 }
`;

async function seedForge(): Promise<void> {
  forge = await startScriptedForge({ root: path.join(machines, 'forge') });
  const repo = forge.addRepo(FULL);
  cloneUrl = repo.cloneUrl;
  forge.addToken(CANARY, { login: 'sop-bot', write: true });
  issue = forge.addIssue(FULL, { title: 'widgets break on Mondays' });
  const seed = path.join(machines, 'seed');
  const dir = path.join(seed, '.sop', 'sops', SOP);
  fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sop.yaml'), SOP_YAML);
  fs.writeFileSync(path.join(dir, 'prompts', 'fix.md'), '# Fix the issue\n\n{{ input.request }}\n');
  fs.writeFileSync(path.join(seed, 'README.md'), 'widgets\n');
  git(seed, ['init', '--quiet', '--initial-branch=main']);
  git(seed, ['add', '-A']);
  git(seed, ['commit', '--quiet', '-m', 'start']);
  git(seed, ['push', '--quiet', repo.dir, 'main']);
}

const startWorker = (name: string) =>
  startFleetWorker(machines, name, sharedQueue, {
    SOP_CODEX_BASE_URL: `${model.url}/v1`,
    SOP_WORKER_LOST_AFTER_MS: '5000',
    SOP_GITHUB_API_URL: forge.url,
    SOP_GITHUB_TOKEN: CANARY,
  });

beforeAll(async () => {
  ctx = await connectForTest();
  model = await startModelServer({
    rules: [
      {
        match: '# Fix the issue',
        runs: [
          [
            // the agent's whole environment, as a command of its own sees it
            { shell: 'env > agent-env.txt' },
            { write: { path: 'fix.txt', content: 'fixed\n' } },
            {
              final: {
                route: 'done',
                summary: 'The Monday bug was a timezone offset.',
                details: '',
                deliver: { comments: [], labels: ['bug', 'wontfix'] },
              },
            },
          ],
        ],
      },
    ],
  });
  await seedForge();
  workers.push(await startWorker('a'), await startWorker('b'), await startWorker('c'));
}, 120_000);

afterAll(async () => {
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.child));
  await model?.close();
  await forge?.close();
  await ctx?.close();
  fs.rmSync(machines, { recursive: true, force: true });
});

const start = (task: string) =>
  ctx.client.workflow.start(SOP, {
    workflowId: `${SOP}/${task}`,
    taskQueue: sharedQueue,
    args: [
      { sop: SOP, task, repo: { url: cloneUrl }, input: { request: 'widgets break on Mondays', issue } },
    ],
  });

const pulls = () => [...forge.repo(FULL).issues.values()].filter((i) => i.pull);
const comments = () => [...forge.repo(FULL).comments.values()].filter((c) => c.issue === issue);

/** Every file under `dir` whose bytes hold `needle`. */
function filesHolding(dir: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && fs.readFileSync(full).includes(needle)) found.push(full);
    }
  };
  walk(dir);
  return found;
}

/** The run's history as the Temporal CLI shows it, with every payload decoded. */
async function historyText(handle: WorkflowHandle): Promise<string> {
  const { stdout } = await execa(
    path.join(temporalDir, 'bin', 'temporal'),
    [
      'workflow',
      'show',
      '--workflow-id',
      handle.workflowId,
      '--address',
      testTarget().address,
      '--output',
      'json',
    ],
    { stdin: 'ignore' },
  );
  const decoded = [...stdout.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) =>
    Buffer.from(m[1], 'base64').toString('utf8'),
  );
  return `${stdout}\n${decoded.join('\n')}`;
}

test('a run ends in one pull request with its record; the worker token appears nowhere; a rerun updates the same pull request', async () => {
  const task = `issue-${randomUUID().slice(0, 6)}`;
  const handle = await start(task);
  const result = (await handle.result()) as RunResult;
  expect(result.routesTaken.map((r) => `${r.step}:${r.route}`)).toEqual(['fix:done', 'check:passed']);
  expect(pulls()).toHaveLength(1);
  const pr = pulls()[0];
  expect(pr.pull?.head).toBe(`sop/${SOP}/${task}`);
  expect(pr.body).toContain('Closes #1.');
  expect(pr.body).toContain(`### Run record \`${SOP}/${task}\``);
  expect(pr.body).toContain('`check`: `test -f fix.txt` passed (exit 0)');
  expect(pr.body).toMatch(/\*\*Evidence:\*\* chain head `[0-9a-f]{64}` over 1 record\(s\)/);
  expect(pr.body).toContain('asked for label "wontfix": not an allowed label (allowed: bug)');
  expect(forge.repo(FULL).issues.get(issue)?.labels).toEqual(['bug']);
  expect(comments().map((c) => c.body.split('\n')[0])).toEqual([
    `The run opened ${result.forge?.pullRequest?.url}`,
  ]);

  // sop runs show names the pull request and the refused request
  const shown = await runSop(['runs', 'show', SOP, task], { agreement: false });
  expect(shown.stdout).toContain(`pull request: ${FULL}#${pr.number} ${result.forge?.pullRequest?.url}`);
  expect(shown.stdout).toContain('refused agent requests: 1');
  expect(shown.stdout).toContain('fix asked for label "wontfix": not an allowed label (allowed: bug)');

  // the canary: not in the agent's environment (committed on the run branch), any file of any machine
  // (run folders, transcripts, evidence, harness homes, work roots, the forge's repositories), the
  // workers' logs or the run's history
  const agentEnv = git(forge.repo(FULL).dir, ['show', `sop/${SOP}/${task}:agent-env.txt`]);
  expect(agentEnv).toContain('PATH=');
  expect(agentEnv).not.toContain(CANARY);
  expect(agentEnv).not.toContain('SOP_GITHUB');
  expect(filesHolding(machines, CANARY)).toEqual([]);
  for (const w of workers) expect(w.log()).not.toContain(CANARY);
  const history = await historyText(handle);
  expect(history).toContain('The Monday bug was a timezone offset.');
  expect(history).not.toContain(CANARY);
  const basic = Buffer.from(`x-access-token:${CANARY}`).toString('base64');
  expect(history).not.toContain(basic);
  expect(filesHolding(machines, basic)).toEqual([]);

  // a rerun of the task: the same pull request, the same comment
  const again = (await (await start(task)).result()) as RunResult;
  expect(again.forge?.pullRequest?.number).toBe(pr.number);
  expect(pulls()).toHaveLength(1);
  expect(comments()).toHaveLength(1);
  expect(pulls()[0].body?.match(/### Run record/g)).toHaveLength(1);
}, 600_000);

/** Waits for the forge to hold an answer on `route` (it acted), then SIGKILLs the worker holding the run. */
async function killWhileForgeAnswers(handle: WorkflowHandle, route: string): Promise<FleetWorker> {
  await eventually(
    async () => (forge.calls.some((c) => c.route === route && c.fault) ? true : undefined),
    300_000,
  );
  const status = await handle.query<RunStatusView>('status');
  const victim = workers.find((w) => w.queue === status.placement?.queue)!;
  expect(victim).toBeDefined();
  victim.child.kill('SIGKILL');
  await victim.child;
  return victim;
}

test('a worker killed after GitHub acted and before the delivery completed: still one pull request and one comment', async () => {
  const before = { pulls: pulls().length, comments: comments().length };
  // GitHub creates the pull request (the comment) and holds its answer, as a network would, past the kill
  forge.fail({ route: 'POST /repos/{owner}/{repo}/pulls', status: 502, when: 'after', delayMs: 20_000 });
  forge.fail({
    route: 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
    status: 502,
    when: 'after',
    delayMs: 20_000,
  });
  const task = `killed-${randomUUID().slice(0, 6)}`;
  const handle = await start(task);
  const first = await killWhileForgeAnswers(handle, 'POST /repos/{owner}/{repo}/pulls');
  const second = await killWhileForgeAnswers(
    handle,
    'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
  );
  expect(second).not.toBe(first);
  const result = (await handle.result()) as RunResult;
  expect(result.placement?.provisions).toBe(3);
  const mine = pulls().filter((p) => p.pull?.head === `sop/${SOP}/${task}`);
  expect(mine).toHaveLength(1);
  expect(pulls()).toHaveLength(before.pulls + 1);
  // the comment of this run: one, whatever the kill
  const marker = `<!-- sop:${SOP}/${task}/tell -->`;
  expect(comments().filter((c) => c.body.includes(marker))).toHaveLength(1);
  expect(comments()).toHaveLength(before.comments + 1);
}, 600_000);
