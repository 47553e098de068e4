import * as path from 'node:path';
import { execa } from 'execa';
import { sopProject } from '../support/sop-project';

const sop = path.join(__dirname, '..', '..', 'bin', 'sop.js');

// budget max_steps (issue 14.8): on by default, and checked by the compiler like the other budget keys.
const steps = ['steps:', '  a:', '    run: "true"', '    routes: { passed: { finish: true } }'];

test('a run gets max_steps 500 when the SOP sets none (sop workflows show --json carries the plan)', async () => {
  const project = sopProject('plain', steps, {});
  const shown = await execa('node', [sop, 'workflows', 'show', 'plain', '-C', project, '--json']);
  expect(JSON.parse(shown.stdout).plan.budgets).toEqual({ maxSteps: 500 });
});

test('sop validate refuses a max_steps that is not a positive whole number, with code and position', async () => {
  const project = sopProject('bad', ['budget:', '  max_steps: 0', ...steps], {});
  const result = await execa('node', [sop, 'validate', path.join(project, 'sops', 'bad'), '--json'], {
    reject: false,
  });
  expect(result.exitCode).toBe(1);
  const [diagnostic] = JSON.parse(result.stdout).results[0].diagnostics;
  expect(diagnostic).toMatchObject({ code: 'SOP104', line: 3, at: 'budget.max_steps' });
  expect(diagnostic.message).toContain('budget.max_steps');
});
