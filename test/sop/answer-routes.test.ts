import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileSopDir } from '../../src/sop/compile';
import { planFromBundle } from '../../src/sop/plan-from-bundle';

// Input steps and request_input route on the answer: approved / rejected, or the values of an enum field
// (route_on); the compiler checks every value the answer can take has a route.

function sopDir(yaml: string): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-answers-')), 'gate');
  fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sop.yaml'), yaml);
  fs.writeFileSync(path.join(dir, 'prompts', 'fix.md'), 'Fix {{ input.request }}.\n');
  return dir;
}

const header = `name: gate
input:
  request: { type: string }
steps:
  fix:
    prompt: prompts/fix.md
    routes:
      done: approve
`;

const errorsOf = (yaml: string) =>
  compileSopDir(sopDir(yaml), { relativeTo: os.tmpdir() })
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => ({ code: d.code, line: d.line, column: d.column, message: d.message }));

test('an approval gate routes approved / rejected; its answer defaults to what sop answer --approve/--reject sends', () => {
  const result = compileSopDir(
    sopDir(`${header}  approve:
    question: Ship it?
    routes:
      approved: finish
      rejected: fix
`),
  );
  expect(result.diagnostics).toEqual([]);
  const step = planFromBundle(result.bundle!).steps.find((s) => s.name === 'approve')!;
  expect(step.input?.routeOn).toEqual({ kind: 'approval' });
  expect(step.input?.schema).toMatchObject({ required: ['approve'] });
  expect(step.routes.map((r) => [r.name, r.target])).toEqual([
    ['approved', { kind: 'finish' }],
    ['rejected', { kind: 'step', step: 'fix' }],
  ]);
});

test('route_on routes on the enum values of an answer field', () => {
  const result = compileSopDir(
    sopDir(`${header}  approve:
    question: What now?
    answer: { decision: { type: string, enum: [ship, rework, drop] }, note: { type: string, required: false } }
    route_on: decision
    routes:
      ship: finish
      rework: fix
      drop: { fail: dropped by a person }
`),
  );
  expect(result.diagnostics).toEqual([]);
  const step = planFromBundle(result.bundle!).steps.find((s) => s.name === 'approve')!;
  expect(step.input?.routeOn).toEqual({ kind: 'field', field: 'decision' });
});

test('a rejection without a route is SOP217 at the routes, located', () => {
  expect(
    errorsOf(`${header}  approve:
    question: Ship it?
    routes:
      approved: finish
`),
  ).toContainEqual(
    expect.objectContaining({
      code: 'SOP217',
      line: 11,
      column: 5,
      message: expect.stringContaining('"rejected"'),
    }),
  );
});

test('enum values without a route, routes that are no value, and mixed route kinds are reported', () => {
  const errors = errorsOf(`${header}  approve:
    question: What now?
    answer: { decision: { type: string, enum: [ship, rework, drop] } }
    route_on: decision
    routes:
      ship: finish
      rewrok: fix
`);
  expect(errors).toContainEqual(
    expect.objectContaining({ code: 'SOP217', line: 12, message: expect.stringContaining('"rework"') }),
  );
  expect(errors).toContainEqual(
    expect.objectContaining({ code: 'SOP217', message: expect.stringContaining('"drop"') }),
  );
  expect(errors).toContainEqual(
    expect.objectContaining({
      code: 'SOP216',
      line: 15,
      column: 7,
      message: expect.stringContaining('not "rewrok"'),
    }),
  );
  expect(
    errorsOf(`${header}  approve:
    question: Ship it?
    routes:
      approved: finish
      rejected: fix
      answered: finish
`),
  ).toContainEqual(
    expect.objectContaining({
      code: 'SOP216',
      line: 14,
      message: expect.stringContaining('approved / rejected'),
    }),
  );
});

test('route_on that names no field, or a field without an enum, is SOP218', () => {
  expect(
    errorsOf(`${header}  approve:
    question: What now?
    answer: { decision: string }
    route_on: decison
    routes: { ship: finish }
`),
  ).toContainEqual(expect.objectContaining({ code: 'SOP218', line: 12, column: 15 }));
  expect(
    errorsOf(`${header}  approve:
    question: What now?
    answer: { decision: string }
    route_on: decision
    routes: { ship: finish }
`),
  ).toContainEqual(expect.objectContaining({ code: 'SOP218', message: expect.stringContaining('no enum') }));
  expect(
    errorsOf(`${header}  approve:
    question: Ship it?
    answer: { ok: boolean }
    routes: { approved: finish, rejected: fix }
`),
  ).toContainEqual(expect.objectContaining({ code: 'SOP218', line: 11 }));
});

test('a request_input can route on its answer too; its routes are checked and lead to finish', () => {
  const ok = compileSopDir(
    sopDir(`name: gate
input: { request: string }
steps:
  fix:
    prompt: prompts/fix.md
    routes:
      done:
        request_input:
          question: Merge?
          routes: { approved: finish, rejected: fix }
`),
  );
  expect(ok.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const done = planFromBundle(ok.bundle!).steps[0].routes[0];
  expect(done.target).toMatchObject({
    kind: 'request_input',
    request: {
      routeOn: { kind: 'approval' },
      routes: [
        { name: 'approved', target: { kind: 'finish' } },
        { name: 'rejected', target: { kind: 'step', step: 'fix' } },
      ],
    },
  });
  const errors = errorsOf(`name: gate
steps:
  fix:
    prompt: prompts/fix.md
    routes:
      done:
        request_input:
          question: Merge?
          routes: { approved: finish, rejected: fixx }
`);
  expect(errors).toContainEqual(expect.objectContaining({ code: 'SOP202' }));
});
