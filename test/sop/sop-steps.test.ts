import * as path from 'node:path';
import { execa } from 'execa';
import { compileSopDir } from '../../src/sop/compile';
import { renderRouteGraph } from '../../src/sop/describe';
import { planFromBundle } from '../../src/sop/plan-from-bundle';
import { catalogProject } from '../support/sop-project';

// `kind: sop` steps (an SOP calling another SOP): compiled into the plan, checked per SOP (kind fields,
// routes, input templates) and across the catalog by `sop validate` (the called SOP exists, its required
// input is given, route_on names one of its steps, no call cycle).

const sopBin = path.join(__dirname, '..', '..', 'bin', 'sop.js');

const project = (sops: Record<string, string>) => catalogProject('sop-calls-', sops);

/** An SOP with input `request` (required) and `issue` (optional), a `work` agent step, then `extra`. */
const callee = (name: string, extra = '') => `name: ${name}
input:
  request: { type: string }
  issue: { type: integer, required: false }
steps:
  work:
    prompt: prompts/work.md
    routes:
      done: finish
      blocked: fail
${extra}`;

/** An SOP whose first step `call` runs `target` with the given step body. */
const caller = (
  name: string,
  target: string,
  body = '    input: { request: "{{ input.request }}" }\n    routes:\n      completed: finish\n',
) =>
  `name: ${name}
input:
  request: { type: string }
steps:
  call:
    sop: ${target}
${body}`;

const compileOne = (yaml: string) => {
  const root = project({ one: yaml });
  return compileSopDir(path.join(root, 'sops', 'one'), { relativeTo: root });
};
const problems = (yaml: string) =>
  compileOne(yaml)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);

test('a sop step compiles into the plan with its call; a failed child fails the run unless routed', () => {
  const result = compileOne(
    caller(
      'one',
      'review',
      '    input: { request: "review {{ input.request }}", issue: 7 }\n    routes:\n      completed: finish\n',
    ),
  );
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const step = planFromBundle(result.bundle!).steps[0];
  expect(step).toMatchObject({
    name: 'call',
    kind: 'sop',
    call: { sop: 'review', input: { request: 'review {{ input.request }}', issue: 7 } },
  });
  expect(step.call).not.toHaveProperty('routeOn');
  expect(step.routes.map((r) => [r.name, r.target.kind])).toEqual([
    ['completed', 'finish'],
    ['failed', 'fail'],
  ]);
});

test('route_on is carried into the plan', () => {
  const result = compileOne(
    caller(
      'one',
      'review',
      '    input: { request: x }\n    route_on: work\n    routes:\n      done: finish\n      blocked: fail\n',
    ),
  );
  const plan = planFromBundle(result.bundle!);
  expect(plan.steps[0].call).toEqual({ sop: 'review', input: { request: 'x' }, routeOn: 'work' });
  // sop workflows show names the called SOP
  expect(renderRouteGraph(plan)).toContain(
    'call  [sop · calls review, routes on the route its step work took]',
  );
});

test('per-SOP checks: routes other than completed/failed, agent fields, bad input templates, kind without sop', () => {
  expect(
    problems(
      caller(
        'one',
        'review',
        '    prompt: prompts/work.md\n    input: { request: "{{ input.nope }}" }\n    routes:\n      done: finish\n',
      ),
    ),
  ).toEqual([
    expect.stringMatching(/^7:5 SOP210 prompt does not belong to a sop step/),
    expect.stringMatching(/^8:\d+ SOP401 \{\{ input.nope \}\}: the SOP has no input "nope"/),
    expect.stringMatching(/^10:7 SOP216 sop steps route on completed \/ failed .*not "done"/),
  ]);
  expect(
    problems('name: one\nsteps:\n  call:\n    kind: sop\n    routes:\n      completed: finish\n'),
  ).toEqual([expect.stringMatching(/^3:3 SOP210 a sop step needs `sop:`/)]);
});

describe('the call graph across the catalog (sop validate)', () => {
  const validate = async (root: string) => {
    const result = await execa('node', [sopBin, 'validate', '-C', root, '--json'], {
      cwd: root,
      reject: false,
    });
    const report = JSON.parse(result.stdout) as {
      results: Array<{
        sop: string;
        diagnostics: Array<{ code: string; message: string; line: number; file: string }>;
      }>;
    };
    return {
      exitCode: result.exitCode,
      errors: report.results.flatMap((r) =>
        r.diagnostics
          .filter((d) => d.code.startsWith('SOP24'))
          .map((d) => `${r.sop} ${d.file}:${d.line} ${d.code} ${d.message}`),
      ),
    };
  };

  test('a valid call passes validation', async () => {
    const root = project({ review: callee('review'), main: caller('main', 'review') });
    const { exitCode, errors } = await validate(root);
    expect(errors).toEqual([]);
    expect(exitCode).toBe(0);
  });

  test('an unknown SOP, unknown and missing input fields and a bad route_on are located errors', async () => {
    const root = project({
      review: callee('review'),
      main: caller('main', 'reveiw'),
      other: caller(
        'other',
        'review',
        '    input: { titel: x }\n    route_on: wrok\n    routes:\n      done: finish\n',
      ),
    });
    const { exitCode, errors } = await validate(root);
    expect(exitCode).toBe(1);
    const file = (name: string) => path.join('sops', name, 'sop.yaml');
    expect(errors).toEqual(
      expect.arrayContaining([
        `main ${file('main')}:6 SOP240 step call calls SOP "reveiw", which is not in the catalog`,
        `other ${file('other')}:7 SOP241 step call: input.titel is not an input of review`,
        `other ${file('other')}:7 SOP242 step call: input.request is required by review but the step does not give it`,
        `other ${file('other')}:8 SOP244 step call: route_on names "wrok", which is not a step of review`,
      ]),
    );
    expect(errors).toHaveLength(4);
  });

  test('a cycle of calls is an error naming the chain', async () => {
    const root = project({
      a: caller('a', 'b'),
      b: `${callee('b').replace('done: finish', 'done: again')}  again:\n    sop: a\n    input: { request: x }\n    routes:\n      completed: finish\n`,
    });
    const { exitCode, errors } = await validate(root);
    expect(exitCode).toBe(1);
    expect(errors).toEqual([
      `b ${path.join('sops', 'b', 'sop.yaml')}:12 SOP243 SOP calls form a cycle: a -[call]-> b -[again]-> a`,
    ]);
  });
});
