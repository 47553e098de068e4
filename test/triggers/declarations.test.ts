import * as path from 'node:path';
import { execa } from 'execa';
import { triggerRunRequest } from '../../src/shapes/trigger-request';
import { SensorConfigSchema } from '../../src/shapes/trigger-shapes';
import type { TriggerSpec } from '../../src/shapes/triggers';
import { compileSopDir } from '../../src/sop/compile';
import { planFromBundle } from '../../src/sop/plan-from-bundle';
import { catalogProject } from '../support/sop-project';

// `triggers:` and `emits:` in an SOP: compiled into the plan, checked with coded, located diagnostics,
// the event graph checked across the catalog (sop validate), and a trigger's payload mapped to a run
// request by one function every trigger kind uses.

const sopBin = path.join(__dirname, '..', '..', 'bin', 'sop.js');

const project = (sops: Record<string, string>) => catalogProject('sop-triggers-', sops);

const sopYaml = (name: string, extra: string, routes = '      done: finish\n') => `name: ${name}
input:
  request: { type: string }
  issue: { type: integer, required: false }
steps:
  work:
    prompt: prompts/work.md
    routes:
${routes}${extra}`;

const compile = (yaml: string) => {
  const root = project({ one: yaml });
  return compileSopDir(path.join(root, 'sops', 'one'), { relativeTo: root });
};
const problems = (yaml: string) =>
  compile(yaml).diagnostics.map((d) => `${d.line}:${d.column} ${d.severity} ${d.code} ${d.message}`);

test('every trigger kind and emits on a route and on finish are normalized into the plan', () => {
  const result = compile(
    sopYaml(
      'one',
      `triggers:
  nightly:
    schedule: { every: 5s, overlap: buffer_one }
    input: { request: "nightly sweep of {{ schedule.sop }}" }
  bugs:
    webhook: { name: github-issues, secret_env: GH_HOOK_SECRET, filter: { event: issues, action: [labeled], labels: [bug] } }
    input: { request: "{{ payload.issue.title }}", issue: "{{ payload.issue.number }}" }
    repo: { path: ../checkout }
  after_plan:
    event: planned
    input: { request: "{{ event.outputs.summary }}" }
  inbox:
    poll: { command: "cat inbox.json", every: 1m, item_id: id }
    input: { request: "{{ item.title }}" }
emits: { event: worked, payload: { request: "{{ input.request }}" } }
`,
      '      done: { finish: true, emits: [planned] }\n',
    ),
  );
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const plan = planFromBundle(result.bundle!);
  expect(plan.emits).toEqual([{ event: 'worked', payload: { request: '{{ input.request }}' } }]);
  expect(plan.steps[0].routes.find((r) => r.name === 'done')?.emits).toEqual([{ event: 'planned' }]);
  expect(plan.triggers?.map((t) => [t.name, t.kind])).toEqual([
    ['nightly', 'schedule'],
    ['bugs', 'webhook'],
    ['after_plan', 'event'],
    ['inbox', 'poll'],
  ]);
  expect(plan.triggers?.[0]).toMatchObject({ schedule: { everyMs: 5000, cron: [], overlap: 'buffer_one' } });
  expect(plan.triggers?.[1]).toMatchObject({
    sop: 'one',
    webhook: {
      hook: 'github-issues',
      secretEnv: 'GH_HOOK_SECRET',
      signature: 'github',
      filter: { event: ['issues'], action: ['labeled'], labels: ['bug'] },
      dedupe: { from: 'header', name: 'X-GitHub-Delivery' },
    },
    repo: { path: '../checkout' },
  });
  expect(plan.triggers?.[3]).toMatchObject({
    poll: { command: 'cat inbox.json', everyMs: 60_000, itemId: 'id' },
  });
});

test('bad trigger declarations are coded errors at the line that is wrong', () => {
  expect(
    problems(
      sopYaml(
        'one',
        `triggers:
  both:
    schedule: { every: 1h }
    event: planned
    input: { request: x }
  neither:
    schedule: { timezone: UTC }
    input: { request: x }
  typo:
    event: planned
    input: { request: x, isue: 3 }
  missing:
    event: planned
    input: { issue: 3 }
  wrong_root:
    schedule: { cron: "0 3 * * *" }
    input: { request: "{{ payload.x }} at {{ schedule.time }} {{ webhook.name }}" }
`,
      ),
    ),
  ).toEqual([
    expect.stringMatching(/^11:3 error SOP230 trigger both declares schedule and event/),
    expect.stringMatching(/^16:5 error SOP231 trigger neither: schedule needs exactly one of cron or every/),
    expect.stringMatching(/^20:26 error SOP232 trigger typo: input.isue is not an input of one/),
    expect.stringMatching(/^23:5 error SOP233 trigger missing: input.request is required by one/),
    expect.stringMatching(/^26:23 error SOP401 \{\{ schedule.time \}\}: schedule has name, sop/),
    expect.stringMatching(
      /^26:23 error SOP401 \{\{ webhook.name \}\}: "webhook" is not available in a schedule trigger/,
    ),
  ]);
  // unknown keys and secrets are schema errors with the usual codes
  expect(
    problems(
      sopYaml(
        'one',
        `triggers:
  hook:
    webhook: { name: h, secret: abc, secret_env: H }
    input: { request: x }
`,
      ),
    ),
  ).toEqual([expect.stringMatching(/error SOP101 unknown key "secret" in triggers.hook.webhook/)]);
});

test("a trigger may set its runs' place in quota lines: priority 1 to 5, carried by every kind's run request", () => {
  const result = compile(
    sopYaml(
      'one',
      `triggers:
  urgent:
    webhook: { name: pages, secret_env: PAGES_SECRET }
    input: { request: "{{ payload.title }}" }
    priority: 1
  nightly:
    schedule: { cron: "0 3 * * *" }
    input: { request: sweep }
    priority: 5
  inbox:
    poll: { command: "cat inbox.json", every: 1m, item_id: id }
    input: { request: "{{ item.title }}" }
    priority: 4
  plain:
    event: planned
    input: { request: x }
`,
      '      done: { finish: true, emits: [planned] }\n',
    ),
  );
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const triggers = planFromBundle(result.bundle!).triggers!;
  expect(triggers.map((t) => [t.name, t.priority])).toEqual([
    ['urgent', 1],
    ['nightly', 5],
    ['inbox', 4],
    ['plain', undefined],
  ]);
  // the one mapping schedules, webhooks, events and sensors share puts it in the run request
  const [urgent, nightly, inbox, plain] = triggers;
  const made = (t: TriggerSpec, payload: unknown) =>
    triggerRunRequest(t, { payload, item: payload }, { projectDir: '/srv/project' });
  expect(made(urgent, { title: 'pager' })).toMatchObject({ request: { priority: 1 } });
  expect(made(nightly, {})).toMatchObject({ request: { priority: 5 } });
  expect(made(plain, {})).toEqual({ request: expect.not.objectContaining({ priority: expect.anything() }) });
  // a sensor's configuration keeps it (its schema would drop a key it does not know)
  const config = SensorConfigSchema.parse({
    trigger: inbox,
    projectDir: '/p',
    bundleHash: 'b',
    configHash: 'c',
  });
  expect(made(config.trigger as TriggerSpec, { id: 1, title: 'mail' })).toMatchObject({
    request: { priority: 4 },
  });
});

test('a trigger priority outside 1 to 5 is an error naming the field', () => {
  const declare = (priority: string) =>
    problems(
      sopYaml(
        'one',
        `triggers:
  nightly:
    schedule: { every: 1h }
    input: { request: x }
    priority: ${priority}
`,
      ),
    );
  const outOfRange =
    /^14:15 error SOP104 triggers\.nightly\.priority: must be a whole number from 1 \(first\) to 5 \(last\)$/;
  expect(declare('0')).toEqual([expect.stringMatching(outOfRange)]);
  expect(declare('6')).toEqual([expect.stringMatching(outOfRange)]);
  // a fraction or a word is the wrong type, as for every whole-number key
  expect(declare('2.5')).toEqual([
    '14:15 error SOP102 triggers.nightly.priority must be int, not number 2.5',
  ]);
  expect(declare('high')).toEqual([
    expect.stringMatching(/^14:15 error SOP102 triggers\.nightly\.priority must be a number, not/),
  ]);
});

test('emits payload templates are checked like any other run template', () => {
  expect(
    problems(sopYaml('one', 'emits: { event: worked, payload: { x: "{{ input.nope }}" } }\n')).filter((p) =>
      p.includes('error'),
    ),
  ).toEqual([expect.stringMatching(/SOP401 \{\{ input.nope \}\}: the SOP has no input "nope"/)]);
});

describe('the event graph across the catalog (sop validate)', () => {
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
    const diagnostics = report.results.flatMap((r) => r.diagnostics.map((d) => ({ sop: r.sop, ...d })));
    return { exitCode: result.exitCode, diagnostics };
  };

  test('a cycle of events is an error naming the chain; an event nobody emits is an error', async () => {
    const root = project({
      plan: sopYaml(
        'plan',
        'triggers:\n  again:\n    event: implemented\n    input: { request: "{{ event.outputs.request }}" }\n',
        '      done: { finish: true, emits: planned }\n',
      ),
      implement: sopYaml(
        'implement',
        'triggers:\n  go:\n    event: planned\n    input: { request: x }\n  never:\n    event: reviewed\n    input: { request: x }\nemits: implemented\n',
      ),
    });
    const { exitCode, diagnostics } = await validate(root);
    expect(exitCode).toBe(1);
    expect(diagnostics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          sop: 'implement',
          code: 'SOP235',
          message: 'events form a cycle: implement -[implemented]-> plan -[planned]-> implement',
        }),
      ]),
    );
    const cycle = diagnostics.find((d) => d.code === 'SOP235')!;
    expect(cycle.file).toBe(path.join('sops', 'implement', 'sop.yaml'));
    expect(cycle.line).toBe(12);
    expect(diagnostics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          sop: 'implement',
          code: 'SOP234',
          line: 15,
          message: expect.stringContaining(
            'trigger never listens to event "reviewed", which no SOP of the catalog emits',
          ),
        }),
      ]),
    );
  });

  test('an emitted event nobody listens to is a warning only', async () => {
    const root = project({ plan: sopYaml('plan', 'emits: planned\n') });
    const { exitCode, diagnostics } = await validate(root);
    expect(exitCode).toBe(0);
    expect(diagnostics).toEqual([
      expect.objectContaining({
        sop: 'plan',
        code: 'SOP830',
        line: 10,
        message: 'plan emits "planned", which no SOP of the catalog listens to',
      }),
    ]);
  });
});

describe('a trigger payload becomes a run request', () => {
  const trigger: TriggerSpec = {
    kind: 'webhook',
    name: 'bugs',
    sop: 'triage',
    webhook: {
      hook: 'gh',
      secretEnv: 'S',
      signature: 'github',
      filter: {},
      dedupe: { from: 'header', name: 'X-GitHub-Delivery' },
    },
    input: {
      request: 'Bug #{{ payload.issue.number }}: {{ payload.issue.title }}',
      issue: '{{ payload.issue.number }}',
    },
    repo: { path: '../work' },
  };

  test('templates render over the payload; a whole-value template keeps its type; repo.path resolves against the project', () => {
    const result = triggerRunRequest(
      trigger,
      { payload: { issue: { number: 7, title: 'crash on save' } }, webhook: { name: 'gh', delivery: 'd1' } },
      { projectDir: '/srv/project', task: 'bugs-d1' },
    );
    expect(result).toEqual({
      request: {
        sop: 'triage',
        task: 'bugs-d1',
        repo: { path: '/srv/work' },
        input: { request: 'Bug #7: crash on save', issue: 7 },
      },
    });
  });

  test('a payload without a templated value is refused naming the field; no repo means the project', () => {
    expect(
      triggerRunRequest(trigger, { payload: { issue: { number: 7 } } }, { projectDir: '/srv/project' }),
    ).toEqual({
      problem: expect.stringMatching(
        /^trigger triage\.bugs: input\.request: \{\{ payload\.issue\.title \}\} has no value/,
      ),
    });
    const plain = { ...trigger, repo: undefined, input: { request: 'x' } };
    expect(triggerRunRequest(plain, { payload: {} }, { projectDir: '/srv/project' })).toMatchObject({
      request: { repo: { path: '/srv/project' } },
    });
  });
});
