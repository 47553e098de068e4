import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Catalog } from '../../src/sop/catalog';
import { compileSopDir } from '../../src/sop/compile';
import { renderRouteGraph } from '../../src/sop/describe';
import { planFromBundle } from '../../src/sop/plan-from-bundle';

/** A project with sop.config.yaml (optional) and one SOP `p` whose sop.yaml is `lines`. */
function project(lines: string[], config?: string): { root: string; dir: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-profiles-'));
  if (config) fs.writeFileSync(path.join(root, 'sop.config.yaml'), config);
  const dir = path.join(root, 'sops', 'p');
  fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'prompts', 'a.md'), 'Work.');
  fs.writeFileSync(path.join(dir, 'sop.yaml'), `${lines.join('\n')}\n`);
  return { root, dir };
}

function compile(lines: string[], config?: string) {
  const { root } = project(lines, config);
  const catalog = new Catalog({ projectDir: root });
  return catalog.compile(catalog.find('p')!);
}

const HEADER = [
  'name: p',
  'mcp_servers:',
  '  tracker: { command: node, args: [tracker.js] }',
  'policies:',
  '  review: { sandbox: read-only }',
  '  edit: { sandbox: workspace-write }',
  'agents:',
  '  reviewer:',
  '    provider: claude',
  '    model: claude-test-model',
  '    effort: high',
  '    policy: review',
  '    tools: { tracker: [get_issue] }',
  '    session: step',
];

describe('agent profiles', () => {
  test('a step takes every field of its profile; a field it sets itself wins', () => {
    const result = compile([
      ...HEADER,
      'steps:',
      '  a:',
      '    agent: reviewer',
      '    prompt: prompts/a.md',
      '    routes: { done: b }',
      '  b:',
      '    agent: reviewer',
      '    prompt: prompts/a.md',
      '    effort: low',
      '    policy: edit',
      '    routes: { done: finish }',
    ]);
    expect(result.diagnostics).toEqual([]);
    const [a, b] = planFromBundle(result.bundle!).steps;
    expect(a.agent).toMatchObject({
      provider: 'claude',
      model: 'claude-test-model',
      effort: 'high',
      policy: { sandbox: 'read-only' },
      session: 'step',
      tools: [expect.objectContaining({ server: 'tracker', allow: ['get_issue'] })],
      profile: 'reviewer',
    });
    expect(b.agent).toMatchObject({
      provider: 'claude',
      effort: 'low',
      policy: { sandbox: 'workspace-write' },
    });
  });

  test('sop workflows show prints the profile and what it resolved to per step', () => {
    const result = compile([
      ...HEADER,
      'steps:',
      '  a:',
      '    agent: reviewer',
      '    prompt: prompts/a.md',
      '    effort: low',
      '    routes: { done: finish }',
    ]);
    const graph = renderRouteGraph(planFromBundle(result.bundle!));
    expect(graph).toContain(
      '│  agent: prompts/a.md (agent reviewer: claude claude-test-model effort low); policy read-only, dont_ask, network none; tools tracker [get_issue]; session step',
    );
  });

  test('produce_verify: a role names its own profile; the step profile gives what neither sets', () => {
    const result = compile([
      ...HEADER,
      '  maker:',
      '    provider: codex',
      '    policy: edit',
      'steps:',
      '  a:',
      '    kind: produce_verify',
      '    agent: reviewer',
      '    producer: { prompt: prompts/a.md, agent: maker }',
      '    verifier: { prompt: prompts/a.md, session: fresh }',
      '    routes: { accepted: finish, needs_rework: a }',
    ]);
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const step = planFromBundle(result.bundle!).steps[0];
    expect(step.producer).toMatchObject({ provider: 'codex', profile: 'maker', session: 'step' });
    expect(step.producer?.policy.sandbox).toBe('workspace-write');
    expect(step.verifier).toMatchObject({ provider: 'claude', effort: 'high', profile: 'reviewer' });
    expect(step.verifier?.policy.sandbox).toBe('read-only');
    expect(step.verifier?.session).toBeUndefined();
  });

  test('project-wide profiles in sop.config.yaml; the SOP’s own profile of the same name wins', () => {
    const config = [
      'agents:',
      '  reviewer: { provider: claude, model: project-model }',
      '  fixer: { provider: codex, effort: medium }',
    ].join('\n');
    const result = compile(
      [
        'name: p',
        'agents:',
        '  reviewer: { provider: claude, model: own-model }',
        'steps:',
        '  a: { agent: fixer, prompt: prompts/a.md, routes: { done: b } }',
        '  b: { agent: reviewer, prompt: prompts/a.md, routes: { done: finish } }',
      ],
      config,
    );
    expect(result.diagnostics).toEqual([]);
    const [a, b] = planFromBundle(result.bundle!).steps;
    expect(a.agent).toMatchObject({ provider: 'codex', effort: 'medium', profile: 'fixer' });
    expect(b.agent).toMatchObject({ provider: 'claude', model: 'own-model' });
  });

  test('an unknown profile is SOP270 at the agent: line, with the closest name', () => {
    const { dir } = project([
      ...HEADER,
      'steps:',
      '  a:',
      '    agent: reviewr',
      '    prompt: prompts/a.md',
      '    routes: { done: finish }',
    ]);
    const { diagnostics } = compileSopDir(dir, { relativeTo: dir });
    expect(diagnostics).toEqual([
      expect.objectContaining({
        code: 'SOP270',
        file: 'sop.yaml',
        line: HEADER.length + 3,
        column: 12,
        hint: expect.stringContaining('reviewer'),
      }),
    ]);
  });

  test("a problem in a profile's field is reported once, where the profile declares it", () => {
    const { dir } = project([
      'name: p',
      'agents:',
      '  reviewer:',
      '    policy: reviw',
      '    tools: { trackr: [get_issue] }',
      'steps:',
      '  a: { agent: reviewer, prompt: prompts/a.md, routes: { done: b } }',
      '  b: { agent: reviewer, prompt: prompts/a.md, routes: { done: finish } }',
    ]);
    const { diagnostics } = compileSopDir(dir, { relativeTo: dir });
    expect(diagnostics.map((d) => [d.code, d.line])).toEqual([
      ['SOP209', 4],
      ['SOP260', 5],
    ]);
  });

  test('agent: on a command step does not belong there (SOP210); an unknown profile field is SOP101', () => {
    const { dir } = project([
      'name: p',
      'agents:',
      '  reviewer: { provider: claude, temperature: 1 }',
      'steps:',
      '  a: { agent: reviewer, run: "true", routes: { passed: finish } }',
    ]);
    const codes = compileSopDir(dir, { relativeTo: dir }).diagnostics.map((d) => [d.code, d.line]);
    expect(codes).toEqual([['SOP101', 3]]);
    fs.writeFileSync(
      path.join(dir, 'sop.yaml'),
      [
        'name: p',
        'agents:',
        '  reviewer: { provider: claude }',
        'steps:',
        '  a: { agent: reviewer, run: "true", routes: { passed: finish } }',
        '',
      ].join('\n'),
    );
    expect(compileSopDir(dir, { relativeTo: dir }).diagnostics).toEqual([
      expect.objectContaining({
        code: 'SOP210',
        line: 5,
        message: 'agent does not belong to a command step',
      }),
    ]);
  });
});

test("a profile's skills are loaded by the steps that take it; one that does not exist is reported where the profile names it (SOP292)", () => {
  const lines = [
    'name: p',
    'agents:',
    '  reviewer: { provider: claude, skills: [house-style] }',
    'steps:',
    '  a: { agent: reviewer, prompt: prompts/a.md, routes: { done: finish } }',
  ];
  const { dir } = project(lines);
  const { diagnostics } = compileSopDir(dir, { relativeTo: dir });
  expect(diagnostics.map((d) => [d.code, d.line])).toEqual([['SOP292', 3]]);
  fs.mkdirSync(path.join(dir, 'skills', 'house-style'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'skills', 'house-style', 'SKILL.md'),
    '---\nname: house-style\ndescription: the house style\n---\n',
  );
  const { bundle } = compileSopDir(dir, { relativeTo: dir });
  const plan = planFromBundle(bundle!);
  expect(plan.steps[0].agent?.skills?.map((s) => s.name)).toEqual(['house-style']);
  // sop workflows show says which skills the step loads
  expect(renderRouteGraph(plan)).toContain('; skills house-style');
});
