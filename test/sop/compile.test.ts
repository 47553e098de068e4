import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { SopCompileError } from '../../src/shapes/diagnostics';
import { Catalog } from '../../src/sop/catalog';
import { compileSopDir, defineSop, loadProjectConfig } from '../../src/sop/compile';
import { renderRouteGraph } from '../../src/sop/describe';
import { planFromBundle } from '../../src/sop/plan-from-bundle';

const shipped = path.join(__dirname, '..', '..', 'sops');

function copySop(name: string): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-copy-')), name);
  fs.cpSync(path.join(shipped, name), dir, { recursive: true });
  return dir;
}

describe('shipped SOPs', () => {
  test.each(['ralph_loop', 'pipeline', 'bugfix', 'review', 'issue_triage'])(
    '%s compiles without errors or warnings',
    (name) => {
      const result = compileSopDir(path.join(shipped, name));
      expect(result.diagnostics).toEqual([]);
      expect(result.bundle?.name).toBe(name);
    },
  );

  test('ralph_loop plans produce/verify with a worklist, a rework cap from params and a question when it is spent', () => {
    const bundle = compileSopDir(path.join(shipped, 'ralph_loop')).bundle!;
    const plan = planFromBundle(bundle, { params: { max_rework: 5 } });
    const implement = plan.steps.find((s) => s.name === 'implement')!;
    expect(implement.forEach).toEqual({ worklist: 'items', concurrency: 1 });
    expect(implement.maxRework).toBe(5);
    expect(implement.onReworkExhausted.kind).toBe('request_input');
    expect(implement.routes.find((r) => r.name === 'accepted')?.target).toEqual({
      kind: 'advance',
      exhausted: { kind: 'finish' },
    });
    expect(implement.verifier?.policy).toMatchObject({ sandbox: 'workspace-write', allow_write: ['.sop/'] });
    expect(implement.producer?.prompt).toContain('{{ item.title }}');
    expect(plan.inputSchema).toMatchObject({ required: ['request'] });
    expect(planFromBundle(bundle).steps[1].maxRework).toBe(3); // the param's default
  });

  test('pipeline runs segments and channels after metrics, messaging after both', () => {
    const plan = planFromBundle(compileSopDir(path.join(shipped, 'pipeline')).bundle!);
    const after = Object.fromEntries(plan.steps.map((s) => [s.name, s.after]));
    expect(after).toMatchObject({
      segments: ['metrics'],
      channels: ['metrics'],
      messaging: ['segments', 'channels'],
    });
  });

  test('bugfix command lines get params filled in; a failed test run goes back to fix', () => {
    const bundle = compileSopDir(path.join(shipped, 'bugfix')).bundle!;
    const test = planFromBundle(bundle, { params: { test_command: 'make check' } }).steps.find(
      (s) => s.name === 'test',
    )!;
    expect(test.command?.run).toBe('make check');
    expect(test.routes.map((r) => [r.name, r.target])).toEqual([
      ['passed', { kind: 'step', step: 'verify' }],
      ['failed', { kind: 'step', step: 'fix' }],
    ]);
  });

  test('the route graph shows every step, route and target', () => {
    const graph = renderRouteGraph(planFromBundle(compileSopDir(path.join(shipped, 'ralph_loop')).bundle!));
    expect(graph).toContain('accepted → next item; when none is left → ✔ finish');
    expect(graph).toContain('needs_rework → plan');
    expect(graph).toMatch(/after 3 reworks → \? ask a person/);
  });
});

describe('bundle hash', () => {
  test('is the same for the same files, wherever they are', () => {
    const a = compileSopDir(copySop('ralph_loop')).bundle!;
    const b = compileSopDir(copySop('ralph_loop')).bundle!;
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
  });

  test('changes with a single byte of a prompt', () => {
    const dir = copySop('ralph_loop');
    const before = compileSopDir(dir).bundle!.hash;
    const file = path.join(dir, 'prompts', 'implement.md');
    fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8')} `);
    expect(compileSopDir(dir).bundle!.hash).not.toBe(before);
  });

  test('changes with a schema file or the definition', () => {
    const dir = copySop('ralph_loop');
    const before = compileSopDir(dir).bundle!.hash;
    const schema = path.join(dir, 'schemas', 'work.json');
    fs.writeFileSync(schema, fs.readFileSync(schema, 'utf8').replace('"minItems": 1', '"minItems": 2'));
    const afterSchema = compileSopDir(dir).bundle!.hash;
    expect(afterSchema).not.toBe(before);
    const sop = path.join(dir, 'sop.yaml');
    fs.writeFileSync(sop, fs.readFileSync(sop, 'utf8').replace('default: 3', 'default: 4'));
    expect(compileSopDir(dir).bundle!.hash).not.toBe(afterSchema);
  });

  test('defineSop with the same definition and files gives the same bundle as the YAML folder', () => {
    const dir = path.join(shipped, 'review');
    const fromYaml = compileSopDir(dir).bundle!;
    const definition = parse(fs.readFileSync(path.join(dir, 'sop.yaml'), 'utf8'));
    expect(defineSop(definition, { dir })).toEqual(fromYaml);
    const files = {
      'prompts/review.md': fs.readFileSync(path.join(dir, 'prompts/review.md'), 'utf8'),
      'schemas/verdict.json': fs.readFileSync(path.join(dir, 'schemas/verdict.json'), 'utf8'),
    };
    expect(defineSop(definition, { files }).hash).toBe(fromYaml.hash);
  });
});

describe('defineSop', () => {
  test('throws SopCompileError with every problem, located by key path', () => {
    const definition = {
      name: 'inline',
      steps: {
        work: { prompt: 'prompts/work.md', routes: { done: { to: 'ship' } } },
        extra: { promt: 'x.md' },
      },
    };
    let error: unknown;
    try {
      defineSop(definition, { files: { 'prompts/work.md': 'Do {{ input.request }}' } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SopCompileError);
    const diagnostics = (error as SopCompileError).diagnostics;
    expect(diagnostics.map((d) => [d.code, d.at])).toContainEqual(['SOP101', 'steps.extra.promt']);
    expect((error as Error).message).toContain('did you mean "prompt"');
  });
});

describe('launch budgets', () => {
  const files = { 'prompts/work.md': 'Work.' };
  const definition = (extra: Record<string, unknown>, work: Record<string, unknown> = {}) => ({
    name: 'budgets',
    params: { failures: { type: 'integer', default: 5 } },
    ...extra,
    steps: {
      work: { prompt: 'prompts/work.md', routes: { done: { finish: true } }, ...work },
      other: { prompt: 'prompts/work.md', after: ['work'], routes: { done: { finish: true } } },
    },
  });

  test('max_launch_failures per step (or from defaults or a param) and budget max_worker_losses reach the plan', () => {
    const bundle = defineSop(
      definition(
        { defaults: { max_launch_failures: 2 }, budget: { max_worker_losses: 7 } },
        { max_launch_failures: '{{ params.failures }}' },
      ),
      { files },
    );
    const plan = planFromBundle(bundle);
    expect(plan.steps.map((s) => [s.name, s.maxLaunchFailures])).toEqual([
      ['work', 5],
      ['other', 2],
    ]);
    expect(plan.budgets.maxWorkerLosses).toBe(7);
    expect(planFromBundle(defineSop(definition({}), { files })).steps[0].maxLaunchFailures).toBe(3);
  });

  test('a wrong max_worker_losses or max_launch_failures is an error naming the key', () => {
    let error: unknown;
    try {
      defineSop(definition({ budget: { max_worker_losses: -1 } }, { max_launch_failures: 'many' }), {
        files,
      });
    } catch (err) {
      error = err;
    }
    const diagnostics = (error as SopCompileError).diagnostics;
    expect(diagnostics.map((d) => d.at)).toEqual(
      expect.arrayContaining(['budget.max_worker_losses', 'steps.work.max_launch_failures']),
    );
  });
});

describe('project config', () => {
  test('named policies and defaults from sop.config.yaml reach the plan; the SOP may override them', () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-project-'));
    fs.writeFileSync(
      path.join(project, 'sop.config.yaml'),
      'defaults: { provider: claude, policy: careful }\npolicies:\n  careful: { sandbox: read-only, network: none }\nproviders:\n  claude: { model: claude-test-model }\n',
    );
    const dir = path.join(project, 'sops', 'one');
    fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'prompts', 'a.md'), 'Look around.');
    fs.writeFileSync(
      path.join(dir, 'sop.yaml'),
      'name: one\nsteps:\n  a:\n    prompt: prompts/a.md\n    routes: { done: finish }\n',
    );
    const catalog = new Catalog({ projectDir: project });
    const entry = catalog.find('one')!;
    expect(entry.source).toBe('project');
    const plan = planFromBundle(catalog.compile(entry).bundle!);
    expect(plan.steps[0].agent).toMatchObject({
      provider: 'claude',
      model: 'claude-test-model',
      policy: { sandbox: 'read-only' },
    });
    expect(
      planFromBundle(catalog.compile(entry).bundle!, { provider: 'codex' }).steps[0].agent?.provider,
    ).toBe('codex');
  });

  test('tool servers of sop.config.yaml and the SOP reach each role with the tools its step (or role) allows', () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-project-'));
    fs.writeFileSync(
      path.join(project, 'sop.config.yaml'),
      'mcp_servers:\n  tracker: { command: node, args: [tracker.js], env: { TRACKER_DB: a.json } }\n  docs: { url: "http://127.0.0.1:8931/mcp" }\n',
    );
    const dir = path.join(project, 'sops', 'two');
    fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'prompts', 'a.md'), 'Look around.');
    fs.writeFileSync(
      path.join(dir, 'sop.yaml'),
      [
        'name: two',
        'mcp_servers:',
        '  docs: { url: "http://127.0.0.1:9000/mcp", tool_timeout: 30s }',
        'steps:',
        '  a:',
        '    kind: produce_verify',
        '    tools: { tracker: [get_issue, add_comment], docs: [] }',
        '    producer: { prompt: prompts/a.md }',
        '    verifier: { prompt: prompts/a.md, tools: { tracker: [get_issue] } }',
        '    routes: { accepted: finish, needs_rework: a }',
        '',
      ].join('\n'),
    );
    const catalog = new Catalog({ projectDir: project });
    const result = catalog.compile(catalog.find('two')!);
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const step = planFromBundle(result.bundle!).steps[0];
    expect(step.producer?.tools).toEqual([
      {
        server: 'tracker',
        spec: { command: 'node', args: ['tracker.js'], env: { TRACKER_DB: 'a.json' } },
        allow: ['get_issue', 'add_comment'],
      },
      // the SOP's own entry wins over the project's
      { server: 'docs', spec: { url: 'http://127.0.0.1:9000/mcp', tool_timeout: '30s' }, allow: [] },
    ]);
    expect(step.verifier?.tools).toEqual([
      expect.objectContaining({ server: 'tracker', allow: ['get_issue'] }),
    ]);
  });

  test('a malformed sop.config.yaml is reported with code and position', () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-project-'));
    fs.writeFileSync(path.join(project, 'sop.config.yaml'), 'defaults:\n  provder: codex\n');
    const { diagnostics } = loadProjectConfig(project, project);
    expect(diagnostics).toEqual([
      expect.objectContaining({ code: 'SOP101', file: 'sop.config.yaml', line: 2, column: 3 }),
    ]);
  });

  test('the workspace .sop/sops overrides the project, which overrides the package', () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-project-'));
    const write = (root: string, title: string) => {
      const dir = path.join(root, 'review');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'sop.yaml'), `name: review\ntitle: ${title}\nsteps: {}\n`);
    };
    write(path.join(project, 'sops'), 'project copy');
    expect(new Catalog({ projectDir: project }).find('review')).toMatchObject({
      source: 'project',
      title: 'project copy',
    });
    write(path.join(project, '.sop', 'sops'), 'workspace copy');
    const catalog = new Catalog({ projectDir: project });
    expect(catalog.find('review')).toMatchObject({ source: 'workspace', title: 'workspace copy' });
    expect(catalog.find('review')!.shadows).toHaveLength(2); // the project's and the package's
    expect(catalog.find('ralph')?.name).toBe('ralph_loop'); // shipped, found by alias
  });
});

describe('warnings', () => {
  test('a verifier that may write, an unused artifact, a folder name mismatch and an open network are flagged', () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-warn-')), 'folder');
    fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'prompts', 'p.md'), 'Work on {{ input.request }}.');
    fs.writeFileSync(
      path.join(dir, 'sop.yaml'),
      [
        'name: warned',
        'input: { request: string }',
        'policies: { wide: { sandbox: workspace-write, network: open } }',
        'artifacts: { notes: { kind: md, path: notes.md } }',
        'steps:',
        '  check:',
        '    producer: { prompt: prompts/p.md }',
        '    verifier: { prompt: prompts/p.md, policy: wide }',
        '    routes: { accepted: finish, needs_rework: check }',
      ].join('\n'),
    );
    const result = compileSopDir(dir, { relativeTo: dir });
    expect(result.bundle).toBeDefined();
    expect(result.diagnostics.map((d) => [d.code, d.severity, d.line])).toEqual([
      ['SOP803', 'warning', 1],
      ['SOP804', 'warning', 3],
      ['SOP802', 'warning', 4],
      ['SOP801', 'warning', 8],
    ]);
  });
});

describe('input questions', () => {
  const sopWith = (question: string) => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-question-')), 'ask');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'sop.yaml'),
      [
        'name: ask',
        'input:',
        '  request: { type: string }',
        'params:',
        '  limit: { type: integer, default: 3 }',
        'steps:',
        '  approve:',
        `    question: ${JSON.stringify(question)}`,
        '    routes: { approved: finish, rejected: fail }',
        '',
      ].join('\n'),
    );
    return compileSopDir(dir).diagnostics.filter((d) => d.severity === 'error');
  };

  test('may name the run input and params (a person deciding needs the context)', () => {
    expect(
      sopWith('Ship {{ input.request }} (at most {{ params.limit }} retries, rework {{ step.rework }})?'),
    ).toEqual([]);
  });

  test('name what is not available with message and hint saying the same', () => {
    const [unknownInput] = sopWith('Ship {{ input.nope }}?');
    expect(unknownInput).toMatchObject({
      code: 'SOP401',
      message: '{{ input.nope }}: the SOP has no input "nope"',
    });
    const [agentOutput] = sopWith('Ship {{ steps.approve.payload }}?');
    expect(agentOutput.message).toBe(
      '{{ steps.approve.payload }}: "steps" is not available here (available: input, params, step, item)',
    );
    expect(agentOutput.hint).toContain('input questions input.*, params.*, step.* and item.*');
  });
});
