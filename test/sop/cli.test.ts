import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';

const sop = path.join(__dirname, '..', '..', 'bin', 'sop.js');
const repo = path.join(__dirname, '..', '..');

// The CLI runs from dist/; `npm test` builds first.
describe('sop validate / workflows', () => {
  test('validate passes on every shipped SOP and --json is parseable', async () => {
    const result = await execa('node', [sop, 'validate', '--json'], { cwd: repo, reject: false });
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.ok).toBe(true);
    expect(report.results.map((r: { sop: string }) => r.sop).sort()).toEqual([
      'bugfix',
      'issue_triage',
      'pipeline',
      'ralph_loop',
      'review',
    ]);
  });

  test('validate exits 1 and prints file:line:col, code and hint for a broken SOP', async () => {
    const result = await execa(
      'node',
      [sop, 'validate', path.join(__dirname, 'malformed', 'route-target-missing')],
      {
        cwd: repo,
        reject: false,
      },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(
      /route-target-missing\/sop\.yaml:21:19: error SOP202: route target "implemnt"/,
    );
    expect(result.stdout).toContain('hint: did you mean "implement"?');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('validate names an unknown SOP as a coded error', async () => {
    const result = await execa('node', [sop, 'validate', 'no_such_sop', '--json'], {
      cwd: repo,
      reject: false,
    });
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.stdout).results[0].diagnostics[0].code).toBe('SOP002');
  });

  test('workflows show renders the route table of ralph_loop; --json carries the plan', async () => {
    const text = await execa('node', [sop, 'workflows', 'show', 'ralph_loop'], { cwd: repo });
    expect(text.stdout).toContain('├─ accepted → implement  (requires work, plan_review)');
    expect(text.stdout).toContain('├─ needs_rework → implement  (requires item_review)');
    const json = JSON.parse(
      (await execa('node', [sop, 'workflows', 'show', 'ralph', '--json'], { cwd: repo })).stdout,
    );
    expect(json.name).toBe('ralph_loop');
    expect(json.plan.steps.map((s: { name: string }) => s.name)).toEqual(['plan', 'implement']);
  });

  test('workflows show exits 3 with a suggestion for an unknown name', async () => {
    const result = await execa('node', [sop, 'workflows', 'show', 'ralph_lop'], { cwd: repo, reject: false });
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('did you mean "ralph_loop"?');
  });

  test('workflows list shows project SOPs from another directory with -C', async () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-cli-'));
    fs.mkdirSync(path.join(project, 'sops', 'mine'), { recursive: true });
    fs.writeFileSync(
      path.join(project, 'sops', 'mine', 'sop.yaml'),
      'name: mine\ntitle: My own\nsteps: {}\n',
    );
    const list = JSON.parse(
      (await execa('node', [sop, 'workflows', 'list', '-C', project, '--json'])).stdout,
    );
    expect(list.find((e: { name: string }) => e.name === 'mine')).toMatchObject({
      source: 'project',
      title: 'My own',
    });
    expect(list.find((e: { name: string }) => e.name === 'review')).toMatchObject({ source: 'package' });
  });
});

describe('sop validate: YAML that costs too much to load', () => {
  const sopWith = (name: string, text: string) => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-yaml-')), name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'sop.yaml'), text);
    return dir;
  };
  const validateJson = async (dir: string) => {
    const result = await execa('node', [sop, 'validate', dir, '--json'], { cwd: repo, reject: false });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toContain('Excessive alias count');
    const [diagnostic, ...rest] = JSON.parse(result.stdout).results[0].diagnostics;
    expect(rest).toEqual([]);
    return diagnostic;
  };

  test('an alias bomb is SOP004 at the alias that passes the limit, in JSON like any YAML error', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of ['ab', 'bc', 'cd', 'de', 'ef']) {
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const dir = sopWith('bomb', `name: bomb\n${levels.join('\n')}\nsteps: {}\n`);
    expect(await validateJson(dir)).toMatchObject({
      code: 'SOP004',
      file: path.join(dir, 'sop.yaml'),
      line: 6,
      column: 8,
      message:
        'alias *d expands to 7381 values; with the aliases before it the file expands to more than 10000',
    });
    const text = await execa('node', [sop, 'validate', dir], { cwd: repo, reject: false });
    expect(text.stdout).toContain('sop.yaml:6:8: error SOP004: alias *d expands to 7381 values');
  });

  test('an alias bomb in sop run --input-file or a model-server scenario gets the same coded, located error', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of ['ab', 'bc', 'cd', 'de', 'ef']) {
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-yaml-input-'));
    const file = path.join(dir, 'input.yaml');
    fs.writeFileSync(file, `request: go\n${levels.join('\n')}\n`);
    const run = await execa('node', [sop, 'run', 'review', '--workspace', dir, '--input-file', file], {
      cwd: repo,
      reject: false,
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).not.toContain('Excessive alias count');
    expect(run.stderr).toContain(
      `error: --input-file ${file} is not valid YAML:\n${file}:6:8: error SOP004: alias *d expands to 7381 values`,
    );
    expect(run.stderr).toContain('hint: write the values out instead of repeating aliases');
    const served = await execa(
      'node',
      [path.join(repo, 'dist', 'scripted-model', 'model-server-cli.js'), '--scenario', file],
      { cwd: repo, reject: false, timeout: 30_000 },
    );
    expect(served.exitCode).not.toBe(0);
    expect(served.stderr).not.toContain('Excessive alias count');
    expect(served.stderr).toContain(`${file}:6:8: error SOP004: alias *d expands to 7381 values`);
  });

  test('an alias inside the value it names is SOP004', async () => {
    const dir = sopWith('loop', 'name: loop\nsteps:\n  a: &a\n    prompt: p.md\n    x: *a\n');
    expect(await validateJson(dir)).toMatchObject({ code: 'SOP004', line: 5, column: 8 });
  });

  test('nesting over 64 levels is SOP005 at the first value too deep; far deeper (parser stack) too', async () => {
    const dir = sopWith('deep', `name: deep\nsteps: {}\nx: ${'['.repeat(100)}${']'.repeat(100)}\n`);
    expect(await validateJson(dir)).toMatchObject({
      code: 'SOP005',
      line: 3,
      column: 4 + 63, // the top-level mapping is level 1, the first [ level 2
      message: 'this value is nested 65 levels deep; the limit is 64',
    });
    const deeper = sopWith(
      'deeper',
      `name: deeper\nsteps: {}\nx: ${'['.repeat(30_000)}${']'.repeat(30_000)}\n`,
    );
    expect(await validateJson(deeper)).toMatchObject({ code: 'SOP005', line: 3 });
  });

  test('a file over 1 MiB is SOP006 at the line where the limit is passed, without parsing it', async () => {
    const line = `  - ${'y'.repeat(96)}\n`; // 101 bytes
    const dir = sopWith('huge', `name: huge\nsteps: {}\nlist:\n${line.repeat(20_000)}`);
    const offset = 1024 * 1024 - 'name: huge\nsteps: {}\nlist:\n'.length;
    expect(await validateJson(dir)).toMatchObject({
      code: 'SOP006',
      line: 4 + Math.floor(offset / 101),
      column: (offset % 101) + 1,
    });
  });
});

describe('sop init', () => {
  test('scaffolds a project whose example SOP validates and is listed; never overwrites without --force', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-init-'));
    fs.writeFileSync(path.join(dir, '.gitignore'), 'node_modules/');
    const init = await execa('node', [sop, 'init', dir], { reject: false });
    expect(init.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe(
      'node_modules/\n# SOP runtime: run folders (prompts, transcripts, evidence)\n.sop/runs/\n',
    );
    const validate = await execa('node', [sop, 'validate', '-C', dir, '--json'], { reject: false });
    expect(validate.exitCode).toBe(0);
    const change = JSON.parse(validate.stdout).results.find((r: { sop: string }) => r.sop === 'change');
    expect(change).toMatchObject({ ok: true });
    const list = await execa('node', [sop, 'workflows', 'list', '-C', dir], { reject: false });
    expect(list.stdout).toMatch(/^change\s+1\s+project\s+Make a change/m);

    fs.appendFileSync(path.join(dir, 'sops', 'change', 'prompts', 'change.md'), 'my edit\n');
    const again = await execa('node', [sop, 'init', dir], { reject: false });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('not overwriting sop.config.yaml');
    expect(fs.readFileSync(path.join(dir, 'sops', 'change', 'prompts', 'change.md'), 'utf8')).toContain(
      'my edit',
    );
    // the .gitignore entry is not added twice
    await execa('node', [sop, 'init', dir, '--force']);
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8').match(/\.sop\/runs\//g)).toHaveLength(1);
  });
});
