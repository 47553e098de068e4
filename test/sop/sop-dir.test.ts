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
