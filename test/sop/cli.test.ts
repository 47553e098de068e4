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
