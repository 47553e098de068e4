import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SopCompileError } from '../../src/shapes/diagnostics';
import { compileSopDir, defineSop } from '../../src/sop/compile';
import { planFromBundle } from '../../src/sop/plan-from-bundle';

const shipped = path.join(__dirname, '..', '..', 'sops');

test('{{ sop.dir }} in a tool server’s command line is the SOP folder: the shipped issue_triage starts the tracker that ships with the package', () => {
  const { bundle, diagnostics } = compileSopDir(path.join(shipped, 'issue_triage'));
  expect(diagnostics).toEqual([]);
  const triage = planFromBundle(bundle!).steps.find((s) => s.name === 'triage')!;
  const [grant] = triage.agent!.tools!;
  const args = (grant.spec as { args: string[] }).args;
  expect(path.resolve(args[0])).toBe(
    path.join(shipped, '..', 'dist', 'scripted-model', 'issue-tracker-mcp.js'),
  );
  expect(triage.agent).toMatchObject({ profile: 'triager', provider: 'codex' });
});

test('{{ sop.dir }} in an SOP defined without a folder is SOP401', () => {
  const define = () =>
    defineSop(
      {
        name: 'a',
        mcp_servers: { t: { command: 'node', args: ['{{ sop.dir }}/t.js'] } },
        steps: { s: { prompt: 'p.md', tools: { t: ['x'] }, routes: { done: 'finish' } } },
      },
      { files: { 'p.md': 'Work.' } },
    );
  expect(define).toThrow(SopCompileError);
  try {
    define();
  } catch (err) {
    expect((err as SopCompileError).diagnostics.map((d) => [d.code, d.at])).toEqual([
      ['SOP401', 'mcp_servers.t.args.0'],
    ]);
  }
});

test('the same SOP in two folders has one bundle hash (a client’s checkout and a worker’s), though each fills in its own sop.dir', () => {
  const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-dir-')), 'issue_triage');
  fs.cpSync(path.join(shipped, 'issue_triage'), copy, { recursive: true });
  const here = compileSopDir(path.join(shipped, 'issue_triage')).bundle!;
  const there = compileSopDir(copy).bundle!;
  expect(there.hash).toBe(here.hash);
  const args = (b: typeof here) =>
    (planFromBundle(b).steps.find((s) => s.name === 'triage')!.agent!.tools![0].spec as { args: string[] })
      .args[0];
  expect(args(there).startsWith(copy)).toBe(true);
  expect(args(here).startsWith(path.join(shipped, 'issue_triage'))).toBe(true);
});
