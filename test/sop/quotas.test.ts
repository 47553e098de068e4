import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { quotaKeysFor, quotaWaitText, spendWindowStart } from '../../src/shapes/quota';
import { compileSopDir, loadProjectConfig } from '../../src/sop/compile';
import { planFromBundle } from '../../src/sop/plan-from-bundle';

// Quota keys as a project declares them (sop.config.yaml `quotas:`, a step's `quota:`), what a launch
// acquires, and how a waiting run says where it stands (docs/quotas.md).

function project(config: string, steps: string): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-quota-'));
  fs.writeFileSync(path.join(root, 'sop.config.yaml'), config);
  const dir = path.join(root, 'sops', 'q');
  fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'prompts', 'work.md'), 'Work.\n');
  fs.writeFileSync(path.join(dir, 'sop.yaml'), `name: q\nsteps:\n${steps}`);
  return root;
}

const compile = (root: string) => {
  const loaded = loadProjectConfig(root, root);
  expect(loaded.diagnostics).toEqual([]);
  return compileSopDir(path.join(root, 'sops', 'q'), { config: loaded.config, relativeTo: root });
};

test('declared quotas reach the plan, and a step names its label', () => {
  const root = project(
    [
      'quotas:',
      '  codex/gpt-5: { concurrent: 2, tokens_per_minute: 1000, usd_per_day: 5, on_spend_cap: fail, window_start_utc: "07:30", holder_check: 10s }',
      '  nightly: { concurrent: 1 }',
    ].join('\n'),
    '  work:\n    prompt: prompts/work.md\n    model: gpt-5\n    quota: nightly\n    routes: { done: finish }\n',
  );
  const { bundle, diagnostics } = compile(root);
  expect(diagnostics).toEqual([]);
  const plan = planFromBundle(bundle!);
  expect(plan.quotas).toEqual({
    'codex/gpt-5': {
      concurrent: 2,
      tokensPerMinute: 1000,
      usdPerDay: 5,
      onSpendCap: 'fail',
      windowStartUtc: '07:30',
      holderCheckMs: 10_000,
    },
    nightly: { concurrent: 1 },
  });
  const agent = plan.steps[0].agent!;
  expect(agent.quota).toBe('nightly');
  expect(quotaKeysFor(plan.quotas, agent)).toEqual(['codex/gpt-5', 'nightly']);
});

test('a project without quotas compiles as before: no quotas in the bundle or the plan', () => {
  const root = project(
    'defaults: { provider: codex }\n',
    '  work:\n    prompt: prompts/work.md\n    routes: { done: finish }\n',
  );
  const { bundle } = compile(root);
  expect(bundle).not.toHaveProperty('quotas');
  expect(planFromBundle(bundle!)).not.toHaveProperty('quotas');
});

test('a step naming an undeclared quota is SOP294, naming the step and the declared keys', () => {
  const root = project(
    'quotas:\n  nightly: { concurrent: 1 }\n',
    '  work:\n    prompt: prompts/work.md\n    quota: nighty\n    routes: { done: finish }\n',
  );
  const { bundle, diagnostics } = compile(root);
  expect(bundle).toBeUndefined();
  expect(diagnostics).toEqual([
    expect.objectContaining({
      code: 'SOP294',
      message: 'step work: quota "nighty" is not declared (declared: nightly)',
      file: path.join('sops', 'q', 'sop.yaml'),
      line: 5,
    }),
  ]);
});

test.each([
  ['no limit', 'quotas:\n  codex/gpt-5: {}\n', 'at least one of concurrent, tokens_per_minute, usd_per_day'],
  ['concurrent 0', 'quotas:\n  codex/gpt-5: { concurrent: 0 }\n', 'concurrent'],
  [
    'a window at 25:00',
    'quotas:\n  codex/gpt-5: { usd_per_day: 5, window_start_utc: "25:00" }\n',
    'UTC time of day',
  ],
  ['a key with a space', 'quotas:\n  "a b": { concurrent: 1 }\n', '<provider>/<model>'],
])('a malformed quota is reported: %s', (_name, config, says) => {
  const root = project(config, '  work:\n    prompt: prompts/work.md\n    routes: { done: finish }\n');
  const { diagnostics } = loadProjectConfig(root, root);
  expect(diagnostics.length).toBeGreaterThan(0);
  expect(JSON.stringify(diagnostics)).toContain(says);
});

test('a launch acquires the declared keys among <provider>/<model>, <provider> and its label, in name order', () => {
  const declared = { 'codex/gpt-5': { concurrent: 1 }, codex: { concurrent: 4 }, claude: { concurrent: 1 } };
  expect(quotaKeysFor(declared, { provider: 'codex', model: 'gpt-5' })).toEqual(['codex', 'codex/gpt-5']);
  expect(quotaKeysFor(declared, { provider: 'codex', model: 'o3' })).toEqual(['codex']);
  expect(quotaKeysFor(declared, { provider: 'codex' })).toEqual(['codex']);
  expect(quotaKeysFor(undefined, { provider: 'codex', model: 'gpt-5' })).toEqual([]);
  expect(quotaKeysFor({ nightly: { concurrent: 1 } }, { provider: 'claude', quota: 'nightly' })).toEqual([
    'nightly',
  ]);
});

test('the waiting line as every view shows it', () => {
  expect(quotaWaitText('codex/gpt-5', { inUse: 2, limit: 2, position: 3 })).toBe(
    'waiting for quota codex/gpt-5: 2 of 2 in use, 3rd in line',
  );
  expect(quotaWaitText('k', { inUse: 2, limit: 2, position: 1 })).toBe(
    'waiting for quota k: 2 of 2 in use, 1st in line',
  );
  expect(quotaWaitText('k', { inUse: 2, limit: 2, position: 12 })).toBe(
    'waiting for quota k: 2 of 2 in use, 12th in line',
  );
  expect(
    quotaWaitText('k', {
      inUse: 0,
      position: 22,
      blockedBy: 'tokens_per_minute 10: 12 used in the last minute',
    }),
  ).toBe('waiting for quota k: 0 in use, 22nd in line (tokens_per_minute 10: 12 used in the last minute)');
});

test('the USD window starts daily at window_start_utc', () => {
  const at = Date.UTC(2026, 11, 8, 6, 0);
  expect(new Date(spendWindowStart(at)).toISOString()).toBe('2026-12-08T00:00:00.000Z');
  expect(new Date(spendWindowStart(at, '07:30')).toISOString()).toBe('2026-12-07T07:30:00.000Z');
  expect(new Date(spendWindowStart(Date.UTC(2026, 11, 8, 7, 30), '07:30')).toISOString()).toBe(
    '2026-12-08T07:30:00.000Z',
  );
});
