import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { alignGroups, compare, listDiff } from '../../src/soptest/expect';
import { prepareWorkspace } from '../../src/soptest/workspace';
import { runSop } from '../support/run-sop';
import { sopProject } from '../support/sop-project';

// Bad test files are refused before anything runs, each problem naming the file and the field.
const sopYaml = [
  'steps:',
  '  only:',
  '    prompt: prompts/only.md',
  '    routes: { done: { finish: true } }',
];

function projectWithTest(test: string): { project: string; file: string } {
  const project = sopProject('tiny', sopYaml, { 'only.md': '# Only' });
  const dir = path.join(project, 'sops', 'tiny', 'tests');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'happy.yaml');
  fs.writeFileSync(file, test);
  return { project, file };
}

test('a misspelt expectation is refused naming the field; nothing runs', async () => {
  const { project, file } = projectWithTest(
    'repo: .\nscenario: { rules: [{ match: Only, runs: [[{ final: { route: done } }]] }] }\nexpect: { agent_run: 1 }\n',
  );
  const result = await runSop(['test', '-C', project]);
  expect(result.exitCode).toBe(2);
  expect(String(result.stderr)).toContain(`error: test ${file}: expect: Unrecognized key: "agent_run"`);
  expect(String(result.stderr)).toContain('nothing was run');
});

test('a scenario reply of no known kind names its position and the kinds', async () => {
  const { project, file } = projectWithTest(
    'repo: .\nscenario: { rules: [{ match: Only, runs: [[{ shel: ls }]] }] }\nexpect: { status: completed }\n',
  );
  const result = await runSop(['test', 'tiny', '-C', project]);
  expect(result.exitCode).toBe(2);
  expect(String(result.stderr)).toContain(
    `test ${file}: scenario: rules.0.runs.0.0: a reply must be exactly one of shell, write, read, tool, mcp, message, final, stall, wait or error`,
  );
});

test('a missing scenario file and a bad route name are named', async () => {
  const { project, file } = projectWithTest(
    'repo: .\nscenario: scenarios/none.yaml\nexpect: { routes: [only] }\n',
  );
  let result = await runSop(['test', '-C', project]);
  expect(String(result.stderr)).toContain(`test ${file}: expect.routes.0:`);
  fs.writeFileSync(file, 'repo: .\nscenario: scenarios/none.yaml\nexpect: { routes: [only:done] }\n');
  result = await runSop(['test', '-C', project]);
  expect(result.exitCode).toBe(2);
  expect(String(result.stderr)).toContain(
    `test ${file}: cannot read scenario ${path.join(path.dirname(file), 'scenarios', 'none.yaml')}`,
  );
});

test('an SOP without tests named on the command line is an error, not a silent pass', async () => {
  const project = sopProject('tiny', sopYaml, { 'only.md': '# Only' });
  const result = await runSop(['test', 'tiny', '-C', project]);
  expect(result.exitCode).toBe(2);
  expect(String(result.stderr)).toContain('tiny has no tests: add');
});

test('route groups match in any order; everything else in order, with the first difference marked', () => {
  expect(alignGroups(['a:x', ['b:x', 'c:x'], 'd:x'], ['a:x', 'c:x', 'b:x', 'd:x'])).toEqual([
    'a:x',
    'c:x',
    'b:x',
    'd:x',
  ]);
  expect(alignGroups([['b:x', 'c:x']], ['b:x', 'e:x'])).toEqual(['b:x', 'c:x']);
  expect(listDiff('routes', ['a:x', 'b:x'], ['a:x', 'c:x', 'd:x'])).toBe(
    [
      'routes differ (first difference at #2):',
      '     expected  actual',
      '   1 a:x       a:x',
      '✗  2 b:x       c:x',
      '✗  3 (none)    d:x',
    ].join('\n'),
  );
});

test('artifacts, files changed, agent runs and budget are checked against what the run did', () => {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-expect-'));
  fs.mkdirSync(path.join(workspace, '.sop/runs/s/t'), { recursive: true });
  fs.writeFileSync(path.join(workspace, '.sop/runs/s/t/review.md'), 'Verdict: needs rework\n');
  const actual = {
    status: 'completed',
    routes: ['a:done'],
    agentRuns: 5,
    tokens: 9000,
    costUsd: 0.5,
    filesChanged: ['src/a.js', 'src/b.js'],
    workspace,
    runFolder: '.sop/runs/s/t',
  };
  const fields = compare(
    {
      status: 'completed',
      files_changed: ['src/a.js', 'src/c.js'],
      agent_runs: { max: 4 },
      budget: { max_tokens: 8000, max_usd: 1 },
      artifacts: {
        review: { exists: true, contains: 'Verdict: accepted' },
        'notes.md': { exists: true },
        '{{ run.folder }}/review.md': { exists: true, matches: '/^Verdict/' },
      },
    },
    actual,
    [{ name: 'review', path: '{{ run.folder }}/review.md' }],
  );
  expect(fields.map((m) => m.text.split('\n')[0])).toEqual([
    'files_changed differ:',
    'agent_runs: expected between 0 and 4, got 5',
    'budget: 9000 tokens used, max_tokens is 8000',
    'artifact review (.sop/runs/s/t/review.md): expected to contain "Verdict: accepted"; it holds:',
    'file notes.md: expected to exist, missing',
  ]);
  expect(fields[0].text).toContain('- src/c.js   (expected to change, unchanged)');
  expect(fields[0].text).toContain('+ src/b.js   (changed, not expected)');
});

test('a starting repository from a git ref is checked out at that ref; a bad ref is named', async () => {
  const origin = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-origin-'));
  const git = (...args: string[]) =>
    execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: origin });
  await git('init', '-q');
  fs.writeFileSync(path.join(origin, 'a.txt'), 'first\n');
  await git('add', '-A');
  await git('commit', '-qm', 'first');
  await git('tag', 'v1');
  fs.writeFileSync(path.join(origin, 'a.txt'), 'second\n');
  await git('commit', '-qam', 'second');
  const testFile = path.join(origin, 'tests', 'x.yaml'); // the repository path is relative to the test file
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-ws-'));
  const workspace = await prepareWorkspace({ git: '..', ref: 'v1' }, testFile, parent);
  expect(fs.readFileSync(path.join(workspace, 'a.txt'), 'utf8')).toBe('first\n');
  await expect(prepareWorkspace({ git: '..', ref: 'v9' }, testFile, parent)).rejects.toThrow(
    `repo: cannot check out v9 of ${origin}:`,
  );
  // a folder is copied and committed: the run starts from a clean git repository
  const copy = await prepareWorkspace('..', testFile, parent);
  expect(fs.readFileSync(path.join(copy, 'a.txt'), 'utf8')).toBe('second\n');
  expect(fs.existsSync(path.join(copy, '.git'))).toBe(true);
  const status = await execa('git', ['status', '--porcelain'], { cwd: copy });
  expect(status.stdout).toBe('');
});
