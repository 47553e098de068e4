import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ModelServer, startModelServer } from '../../src/testing/model-server';
import type { Reply } from '../../src/testing/scenario';
import { routeNames, smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';
import { runProjectSop, sopProject } from '../support/sop-project';

// Governance truth (issue 14, points 7 and 8): the work goes back to the role that can fix it, and the
// budgets stop what they claim to stop. `sop run` as a user runs it, the real Codex binary against the
// scripted model server.

let model: ModelServer | undefined;
afterEach(async () => {
  await model?.close();
  model = undefined;
});

const done: Reply = { final: { route: 'done', summary: 'done', details: '' } };

describe('a verifier route that requires an artifact the producer did not write (14.7)', () => {
  // The producer is told nothing about `report` (it declares no writes); only the verifier's `accepted`
  // route requires it. The verifier cannot write it: the runtime must send the work back to the producer.
  const handoff = () =>
    sopProject(
      'handoff',
      [
        'input:',
        '  request: { type: string, default: go }',
        'defaults: { policy: edit }',
        'policies:',
        '  edit: { sandbox: workspace-write }',
        '  review: { sandbox: workspace-write, allow_write: [.sop/] }',
        'artifacts:',
        '  report: { kind: md, path: "{{ run.folder }}/report.md" }',
        '  review: { kind: md, path: "{{ run.folder }}/review.md" }',
        'steps:',
        '  build:',
        '    kind: produce_verify',
        '    producer: { prompt: prompts/produce.md }',
        '    verifier: { prompt: prompts/verify.md, writes: [review], policy: review }',
        '    routes:',
        '      accepted: { finish: true, requires: [report, review] }',
        '      needs_rework: { to: build, requires: [review] }',
        '    max_rework: 1',
      ],
      { 'produce.md': 'Produce the change.', 'verify.md': 'Check the change.' },
    );
  const writeReport: Reply = { write: { path: '{{ run_folder }}/report.md', content: 'the report\n' } };
  const accept: Reply[] = [
    { write: { path: '{{ run_folder }}/review.md', content: 'Verdict: accepted\n' } },
    { final: { route: 'accepted', summary: 'fine', details: '' } },
  ];
  const finding = (task: string) =>
    `route \`accepted\` requires artifact \`report\` (.sop/runs/handoff/${task}/report.md), which the producer did not write`;

  test('the producer gets the rework with the finding naming the route; the verifier is not retried', async () => {
    model = await startModelServer({
      rules: [
        { match: 'Produce the change', runs: [[done], [writeReport, done]] },
        { match: 'Check the change', runs: [accept] },
      ],
    });
    const workspace = await smallRepo('sop-handoff-');
    const task = 'rework';
    const result = await runProjectSop('handoff', handoff(), workspace, { modelUrl: model.url, task });
    expect(result.exitCode).toBe(0);
    const out = JSON.parse(String(result.stdout));
    expect(routeNames(out.result.routesTaken)).toEqual(['build:missing_artifact', 'build:accepted']);
    // producer, verifier, producer again, verifier: no verifier retry in between
    expect(out.result.usage.agentRuns).toBe(4);
    const steps = path.join(out.runFolder, 'steps');
    const prompts = (fs.readdirSync(steps, { recursive: true }) as string[])
      .filter((f) => f.endsWith('prompt.md'))
      .sort()
      .map((f) => fs.readFileSync(path.join(steps, f), 'utf8'));
    const producerPrompts = prompts.filter((p) => p.includes('Produce the change'));
    expect(producerPrompts).toHaveLength(2);
    expect(producerPrompts[0]).not.toContain(finding(task));
    expect(producerPrompts[1]).toContain('The runtime sent the work back (rework 1 of 1)');
    expect(producerPrompts[1]).toContain(finding(task));
    expect(prompts.filter((p) => p.includes('Check the change'))).toHaveLength(2);
  }, 240_000);

  test('a producer that never writes it uses up max_rework, then the run fails naming the route and artifact', async () => {
    model = await startModelServer({
      rules: [
        { match: 'Produce the change', runs: [[done]] },
        { match: 'Check the change', runs: [accept] },
      ],
    });
    const workspace = await smallRepo('sop-handoff-');
    const task = 'exhausted';
    const project = handoff();
    const result = await runProjectSop('handoff', project, workspace, { modelUrl: model.url, task });
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain(`(last finding: ${finding(task)})`);
    const show = await runSop(['runs', 'show', 'handoff', task, '--json'], {
      env: { SOP_TASK_QUEUE: 'project-handoff' },
    });
    expect(JSON.parse(String(show.stdout))).toMatchObject({ status: 'failed' });
    expect(JSON.parse(String(show.stdout)).failure).toContain(finding(task));
    const summary = JSON.parse(
      fs.readFileSync(path.join(workspace, '.sop', 'runs', 'handoff', task, 'run.json'), 'utf8'),
    );
    expect(summary.status).toBe('failed');
    // producer and verifier twice each (max_rework 1): the verifier never retried for the producer's file
    expect(summary.usage.agentRuns).toBe(4);
    expect(routeNames(summary.routesTaken)).toEqual([
      'build:missing_artifact',
      'build:missing_artifact',
      'build:rework_exhausted',
    ]);
  }, 240_000);
});

describe('budget max_steps ends a run that cycles between steps (14.8)', () => {
  test('A → B → A without max_rework fails at max_steps, the reason naming the cycle everywhere', async () => {
    const project = sopProject(
      'cycle',
      [
        'input:',
        '  request: { type: string, default: go }',
        'budget: { max_steps: 7 }',
        'steps:',
        '  a:',
        '    run: "true"',
        '    routes: { passed: b, failed: { finish: true } }',
        '  b:',
        '    run: "true"',
        '    routes: { passed: a, failed: { finish: true } }',
      ],
      {},
    );
    const workspace = await smallRepo('sop-cycle-');
    const result = await runProjectSop('cycle', project, workspace, {
      modelUrl: 'http://127.0.0.1:9',
      task: 'loop',
    });
    const reason = 'max_steps (7) reached: cycling b → a → b';
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`cycle/loop failed: ${reason}`);
    const summary = JSON.parse(
      fs.readFileSync(path.join(workspace, '.sop', 'runs', 'cycle', 'loop', 'run.json'), 'utf8'),
    );
    expect(summary).toMatchObject({ status: 'failed', failure: reason });
    // seven steps ran (a b a b a b a); the eighth was refused
    expect(routeNames(summary.routesTaken)).toEqual([
      'a:passed',
      'b:passed',
      'a:passed',
      'b:passed',
      'a:passed',
      'b:passed',
      'a:passed',
    ]);
    const show = await runSop(['runs', 'show', 'cycle', 'loop', '--json'], {
      env: { SOP_TASK_QUEUE: 'project-cycle' },
    });
    expect(JSON.parse(String(show.stdout))).toMatchObject({ status: 'failed', failure: reason });
  }, 240_000);
});

describe('a max_usd budget with a Codex model that has no price (14.8)', () => {
  const sopLines = [
    'input:',
    '  request: { type: string, default: go }',
    'budget: { max_usd: 1 }',
    'steps:',
    '  work:',
    '    prompt: prompts/work.md',
    '    model: local-model',
    '    routes: { done: { finish: true } }',
  ];

  test('sop run refuses before anything starts, naming the model, the step and the fix', async () => {
    model = await startModelServer({ rules: [{ match: 'Do the work', runs: [[done]] }] });
    const project = sopProject('priced', sopLines, { 'work.md': 'Do the work.' });
    const workspace = await smallRepo('sop-price-');
    const result = await runProjectSop('priced', project, workspace, {
      modelUrl: model.url,
      task: 'unpriced',
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'priced has budget max_usd (1), but no price is known for model local-model (step work agent): its usage would count as $0',
    );
    expect(result.stderr).toContain(
      'providers: { codex: { prices: { local-model: { input: 1.25, output: 10 } } } }',
    );
    expect(model.requests).toHaveLength(0);
    expect(fs.existsSync(path.join(workspace, '.sop', 'runs', 'priced', 'unpriced'))).toBe(false);
  }, 120_000);

  test('with its price in sop.config.yaml the run starts and its usage is priced', async () => {
    model = await startModelServer({
      usage: { input: 1000, output: 500 },
      rules: [{ match: 'Do the work', runs: [[done]] }],
    });
    const project = sopProject('priced', sopLines, { 'work.md': 'Do the work.' }, [
      'providers:',
      '  codex: { prices: { local-model: { input: 2, output: 8 } } }',
    ]);
    const workspace = await smallRepo('sop-price-');
    const result = await runProjectSop('priced', project, workspace, { modelUrl: model.url, task: 'priced' });
    expect(result.exitCode).toBe(0);
    const usage = JSON.parse(String(result.stdout)).result.usage;
    expect(usage.inputTokens).toBeGreaterThan(0);
    expect(usage.costUsd).toBeGreaterThan(0);
    expect(usage.costUsd).toBeLessThanOrEqual((usage.inputTokens * 2 + usage.outputTokens * 8) / 1e6);
  }, 180_000);
});
