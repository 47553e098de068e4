import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import type { Reply } from '../../src/scripted-model/scenario';
import { smallRepo } from '../support/ralph-scenarios';
import { runProjectSop, sopProject } from '../support/sop-project';

// Governance truth (issue 14, point 8): a max_usd budget is refused when a Codex model has no price, and a
// priced one is charged. `sop run` as a user runs it, the real Codex binary against the scripted model
// server. Where the work goes back when a route's artifact is missing, and max_steps, are workflow logic:
// test/workflows/rules.workflow.test.ts.

let model: ModelServer | undefined;
afterEach(async () => {
  await model?.close();
  model = undefined;
});

const done: Reply = { final: { route: 'done', summary: 'done', details: '' } };

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
