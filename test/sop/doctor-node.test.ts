import * as fs from 'node:fs';
import * as path from 'node:path';
import { harnessNodeCheck, nodeChecks } from '../../src/cli/commands/doctor';
import { packageRoot } from '../../src/temporal/package-paths';

// `npm ci` warns that a harness package wants another Node than the one installed; `sop doctor` says whether
// that matters: the Node the runtime needs (package.json engines), and per harness what its package declares
// against the Node that would run its launched file, if Node runs it at all.

const enginesOf = (dir: string) =>
  (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { engines: { node: string } })
    .engines.node;

test("sop doctor reports the Node version against the runtime's engines and what each harness declares", async () => {
  const checks = Object.fromEntries((await nodeChecks()).map((c) => [c.name, c]));
  expect(checks.node).toEqual({
    name: 'node',
    ok: true,
    detail: `${process.version} (the runtime needs ${enginesOf(packageRoot)})`,
    fix: `install Node.js ${enginesOf(packageRoot)}`,
  });
  // Codex's package is a Node launcher (bin/codex.js) in front of its native binary: its engines apply
  const codex = enginesOf(path.dirname(require.resolve('@openai/codex/package.json')));
  expect(checks['node for codex'].ok).toBe(true);
  expect(checks['node for codex'].detail).toMatch(
    new RegExp(
      `^@openai/codex \\S+ declares node ${codex}; its launcher \\S+/codex\\.js runs on the node on PATH: v\\d+`,
    ),
  );
  // Claude Code's is a native executable: what its package declares is reported, and why it does not matter
  const claudePkg = require('@anthropic-ai/claude-code/package.json') as { version: string };
  const claude = enginesOf(path.dirname(require.resolve('@anthropic-ai/claude-code/package.json')));
  expect(checks['node for claude'].ok).toBe(true);
  expect(checks['node for claude'].detail).toContain(
    `@anthropic-ai/claude-code ${claudePkg.version} declares node ${claude}`,
  );
  expect(checks['node for claude'].detail).toMatch(
    /not needed: the runtime launches its native binary \S+\/claude, which Node does not run$/,
  );
});

test('a harness run by Node fails the check when that Node is older than the harness declares; a native one only notes it', () => {
  const requirement = { pkg: 'some-harness', version: '1.0.0', engines: '>=22', file: '/x/cli.js' };
  expect(harnessNodeCheck('codex', { ...requirement, runsOnNode: true }, 'v20.19.0')).toEqual({
    name: 'node for codex',
    ok: false,
    detail:
      'some-harness 1.0.0 declares node >=22; its launcher /x/cli.js runs on the node on PATH: v20.19.0, which does not satisfy it',
    fix: "put a Node.js >=22 first on the worker's PATH",
  });
  expect(harnessNodeCheck('codex', { ...requirement, runsOnNode: true }, 'v22.3.0').ok).toBe(true);
  expect(
    harnessNodeCheck('claude', { ...requirement, file: '/x/claude', runsOnNode: false }, 'v20.19.0'),
  ).toEqual({
    name: 'node for claude',
    ok: true,
    detail:
      'some-harness 1.0.0 declares node >=22 (npm warns on v20.19.0); not needed: the runtime launches its native binary /x/claude, which Node does not run',
  });
});
