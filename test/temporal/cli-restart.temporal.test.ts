import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import { loadScenario, type Scenario } from '../../src/scripted-model/scenario';
import { DEMO_ROUTES, routeNames, slugifyRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';

// `sop resume` and `sop rerun` through the real binary, with the real Codex harness against the scripted
// model server: a run that fails on item 2 is resumed without redoing what was accepted; a finished run
// re-runs one item of its worklist step.
const root = path.join(__dirname, '..', '..');

let model: ModelServer;
let scenario: Scenario;
beforeAll(async () => {
  scenario = loadScenario(path.join(root, 'examples', 'demo', 'ralph_loop.scenario.yaml'));
  // item 2's implementation fails at the API three times (every activity retry), then works
  const rule = scenario.rules.find((r) => r.match === 'Implement item **strip-punctuation')!;
  const broken = { error: { status: 400, body: { error: { message: 'scripted outage' } } } };
  rule.runs = [[broken], [broken], [broken], ...rule.runs];
  model = await startModelServer(scenario);
});
afterAll(() => model.close());

const env = () => ({ SOP_CODEX_BASE_URL: `${model.url}/v1`, SOP_TASK_QUEUE: 'sop-restart-e2e' });
const conversations = (match: string) => {
  const rule = scenario.rules.findIndex((r) => r.match === match);
  return model.requests.filter((r) => r.rule === rule && r.position === 0).length;
};

test('a failed run resumes from its last accepted step; a finished one re-runs one item of its worklist step', async () => {
  const workspace = await slugifyRepo('sop-restart-');
  const request = 'Make slugify collapse repeated whitespace and drop punctuation';
  const first = await runSop(['run', 'ralph_loop', request, '--workspace', workspace, '--task', 'r1'], {
    env: env(),
    timeoutMs: 180_000,
  });
  expect(first.exitCode).toBe(1);
  expect(first.stderr).toMatch(/ralph_loop\/r1 failed: .*scripted outage/s);
  expect(first.stderr).toContain('sop resume ralph_loop r1');
  expect(conversations('# Plan the change')).toBe(1);
  expect(conversations('Implement item **collapse-whitespace')).toBe(2); // one rework

  // retries exhausted: `sop runs show` names the cause in one line
  const show = await runSop(['runs', 'show', 'ralph_loop', 'r1'], { env: env() });
  const failureLines = String(show.stdout)
    .split('\n')
    .filter((l) => l.startsWith('failure: '));
  expect(failureLines).toHaveLength(1);
  expect(failureLines[0]).toMatch(/implement.*scripted outage/);

  // the raw harness transcripts of a step, and a clear error for a step that has none
  const raw = await runSop(['logs', 'ralph_loop', 'r1', '--raw', 'plan'], { env: env() });
  expect(raw.exitCode).toBe(0);
  expect(raw.stdout).toContain('"type":"thread.started"');
  expect(raw.stderr).toMatch(/== steps\/plan\/0001-producer-a1/);
  const noRaw = await runSop(['logs', 'ralph_loop', 'r1', '--raw', 'deploy'], { env: env() });
  expect(noRaw.exitCode).toBe(3);
  expect(noRaw.stderr).toMatch(
    /no harness transcript for step deploy[\s\S]*steps with transcripts: implement, plan/,
  );
  // run.json records the failure
  const summary = JSON.parse(
    fs.readFileSync(path.join(workspace, '.sop', 'runs', 'ralph_loop', 'r1', 'run.json'), 'utf8'),
  );
  expect(summary).toMatchObject({ status: 'failed', failure: expect.stringContaining('scripted outage') });

  // nothing to resume for an unknown task; a completed run is not resumed
  expect((await runSop(['resume', 'ralph_loop', 'nope'], { env: env() })).exitCode).toBe(3);

  const resumed = await runSop(['resume', 'ralph_loop', 'r1', '--json'], { env: env(), timeoutMs: 180_000 });
  expect(resumed.stderr).toContain('resumed ralph_loop/r1');
  expect(resumed.exitCode).toBe(0);
  const out = JSON.parse(String(resumed.stdout));
  expect(out.status).toBe('completed');
  // the routes of the first execution are kept; only item 2 ran again
  const routes = routeNames(out.result.routesTaken);
  expect(routes).toEqual(DEMO_ROUTES);
  expect(conversations('# Plan the change')).toBe(1);
  expect(conversations('Implement item **collapse-whitespace')).toBe(2);
  await execa('node', ['--test', 'test/'], { cwd: workspace });

  const again = await runSop(['resume', 'ralph_loop', 'r1'], { env: env() });
  expect(again.exitCode).toBe(1);
  expect(again.stderr).toMatch(/completed: there is nothing to resume/);
  expect(again.stderr).toContain('sop rerun ralph_loop r1 --step');

  const badStep = await runSop(['rerun', 'ralph_loop', 'r1', '--step', 'nope'], { env: env() });
  expect(badStep.exitCode).toBe(1);
  expect(badStep.stderr).toMatch(/has no step "nope"[\s\S]*steps: plan/);

  // a rerun of the plan step with --context (everything downstream again) is workflow logic:
  // test/workflows/rules.workflow.test.ts; here one item of the worklist step, through the real binary
  // one item of a worklist step again: only that item's implementer and reviewer run
  const implementedBefore = conversations('Implement item **collapse-whitespace');
  const stripBefore = conversations('Implement item **strip-punctuation');
  const wrongStep = await runSop(['rerun', 'ralph_loop', 'r1', '--step', 'plan', '--item', 'x'], {
    env: env(),
  });
  expect(wrongStep.exitCode).toBe(1);
  expect(wrongStep.stderr).toMatch(
    /step "plan" does not work through a worklist[\s\S]*steps with items: implement/,
  );
  const unknownItem = await runSop(['rerun', 'ralph_loop', 'r1', '--step', 'implement', '--item', 'nope'], {
    env: env(),
    timeoutMs: 120_000,
  });
  expect(unknownItem.exitCode).toBe(1);
  expect(unknownItem.stderr).toMatch(/has no item nope; its items: collapse-whitespace, strip-punctuation/);
  const item = await runSop(
    ['rerun', 'ralph_loop', 'r1', '--step', 'implement', '--item', 'strip-punctuation', '--json'],
    { env: env(), timeoutMs: 180_000 },
  );
  expect(item.stderr).toContain('re-running implement (items strip-punctuation)');
  expect(item.exitCode).toBe(0);
  expect(JSON.parse(String(item.stdout)).status).toBe('completed');
  expect(conversations('Implement item **strip-punctuation')).toBe(stripBefore + 1);
  expect(conversations('Implement item **collapse-whitespace')).toBe(implementedBefore);
  expect(conversations('# Plan the change')).toBe(1);
  const work = JSON.parse(
    fs.readFileSync(path.join(workspace, '.sop', 'runs', 'ralph_loop', 'r1', 'work.json'), 'utf8'),
  );
  expect(work.items.map((i: { status: string }) => i.status)).toEqual(['done', 'done']);
}, 600_000);
