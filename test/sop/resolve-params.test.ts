import * as path from 'node:path';
import { compileSopDir } from '../../src/sop/compile';
import { planRun } from '../../src/sop/resolve';

// Run-time templates (prompts, questions, step inputs) read the run's params: a param the request leaves out
// has its declared default there, as it has in the plan's compile-time fields (max_rework).
const bundle = compileSopDir(path.join(__dirname, '..', '..', 'sops', 'ralph_loop')).bundle!;

test('a param the request leaves out reaches the run with its declared default', () => {
  const run = planRun(bundle, { input: { request: 'x' } }, 'test');
  expect('ok' in run && run.ok.params).toEqual({ max_rework: 3 });
});

test('a param the request gives overrides the default', () => {
  const run = planRun(bundle, { input: { request: 'x' }, params: { max_rework: 1 } }, 'test');
  expect('ok' in run && run.ok.params).toEqual({ max_rework: 1 });
});
