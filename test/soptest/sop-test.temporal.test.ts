import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../../src/temporal/package-paths';
import { runSop } from '../support/run-sop';

// `sop test` through the real binary: the shipped SOPs' own tests pass (the CI run of them), and a prompt
// change that makes a scenario miss fails with a readable expected-vs-actual diff.
const sopsDir = path.join(packageRoot, 'sops');
const sopFolders = (dir: string) =>
  fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'sop.yaml'))) : [];
/** example projects that ship SOPs of their own (examples/<x>/sops/<sop>), tested with -C examples/<x> */
const exampleProjects = fs
  .readdirSync(path.join(packageRoot, 'examples'))
  .map((d) => path.join(packageRoot, 'examples', d))
  .filter((d) => sopFolders(path.join(d, 'sops')).length > 0)
  // its SOP delivers to a forge and waits for the pull request's review, which `sop test` cannot give:
  // test/examples/issue-to-pr.e2e.test.ts runs it end to end instead
  .filter((d) => path.basename(d) !== 'issue-to-pr');
const testsOf = (sopDir: string) =>
  fs.existsSync(path.join(sopDir, 'tests'))
    ? fs.readdirSync(path.join(sopDir, 'tests')).filter((f) => f.endsWith('.yaml'))
    : [];

test('every shipped SOP has a happy-path and a rework or failure test, and `sop test` passes them all', async () => {
  const projects = [packageRoot, ...exampleProjects];
  expect(exampleProjects.length).toBeGreaterThan(0);
  for (const project of projects) {
    const dir = path.join(project, 'sops');
    for (const sop of sopFolders(dir)) {
      expect({ sop, tests: testsOf(path.join(dir, sop)).length >= 2 }).toEqual({ sop, tests: true });
    }
  }
  const reports = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-junit-'));
  for (const [i, project] of projects.entries()) {
    const junit = path.join(reports, `report-${i}.xml`);
    const result = await runSop(['test', '-C', project, '--junit', junit, '--jobs', '3'], {
      timeoutMs: 900_000,
    });
    const out = String(result.stdout);
    // on failure, the exit code with what the command said
    expect({
      exitCode: result.exitCode,
      said: result.exitCode === 0 ? '' : `${result.stderr}\n${out}`,
    }).toEqual({
      exitCode: 0,
      said: '',
    });
    expect(out).toMatch(/^SOP\s+TEST\s+RESULT\s+STATUS\s+AGENT RUNS\s+TIME$/m);
    const sops = sopFolders(path.join(project, 'sops'));
    for (const sop of sops) expect(out).toMatch(new RegExp(`^${sop}\\s+\\S+\\s+PASS\\s`, 'm'));
    expect(out).not.toMatch(/\bFAIL\b/);
    const xml = fs.readFileSync(junit, 'utf8');
    const files = sops.flatMap((sop) => testsOf(path.join(project, 'sops', sop)));
    expect(xml.match(/<testcase /g) ?? []).toHaveLength(files.length);
    expect(xml).toContain(`failures="0" errors="0"`);
    expect(xml).not.toContain('<failure');
    // a failure path is a test too: the review that never writes its verdict fails the run, as expected
    if (project === packageRoot) expect(out).toMatch(/^review\s+no-verdict\s+PASS\s+failed\s+3\s/m);
  }
}, 1_200_000);

test('a prompt change that makes the scenario miss fails `sop test` with the routes diff and the model error', async () => {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-test-project-'));
  const sop = path.join(project, 'sops', 'bugfix');
  fs.cpSync(path.join(sopsDir, 'bugfix'), sop, { recursive: true });
  fs.rmSync(path.join(sop, 'tests', 'rework.yaml'));
  const testFile = path.join(sop, 'tests', 'fixed.yaml');
  fs.writeFileSync(
    testFile,
    fs
      .readFileSync(testFile, 'utf8')
      .replace('repo: ../../../examples/slugify', `repo: ${path.join(packageRoot, 'examples', 'slugify')}`),
  );
  // the author renames the fix prompt's heading: the scenario's rule "# Fix the bug" no longer matches
  const prompt = path.join(sop, 'prompts', 'fix.md');
  fs.writeFileSync(prompt, fs.readFileSync(prompt, 'utf8').replace('# Fix the bug', '# Repair the defect'));
  const junit = path.join(project, 'junit.xml');

  const result = await runSop(['test', 'bugfix', '-C', project, '--junit', junit], { timeoutMs: 600_000 });
  const out = String(result.stdout);
  expect(result.exitCode).toBe(1);
  expect(String(result.stderr)).toContain('1 of 1 SOP tests failed');
  expect(out).toMatch(/^bugfix\s+fixed\s+FAIL\s+failed\s/m);
  expect(out).toContain('status: expected completed, got failed');
  expect(out).toContain('routes differ (first difference at #2):');
  expect(out).toMatch(/^\s+1 reproduce:reproduced\s+reproduce:reproduced$/m);
  expect(out).toMatch(/^\s+✗\s+2 fix:fixed\s+\(none\)$/m);
  expect(out).toMatch(/^\s+✗\s+4 verify:accepted\s+\(none\)$/m);
  expect(out).toContain('- src/slugify.js   (expected to change, unchanged)');
  expect(out).toContain('scripted model: no scenario rule matches this conversation (user text starts:');
  expect(out).toContain('# Repair the defect');
  expect(out).toMatch(/workspace kept: \S+/);
  expect(fs.readFileSync(junit, 'utf8')).toMatch(/<failure message="status, routes/);
}, 600_000);
