import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execaSync } from 'execa';

// scripts/setup.sh (through scripts/check-node.sh) refuses an old Node with the version package.json's engines.node requires (one place says it)
function setupWith(engines: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-setup-'));
  fs.mkdirSync(path.join(root, 'scripts'));
  fs.copyFileSync(path.resolve('scripts/check-node.sh'), path.join(root, 'scripts/check-node.sh'));
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ engines: { node: engines } }, null, 2));
  return execaSync('bash', [path.join(root, 'scripts/check-node.sh')], {
    reject: false,
    cwd: root,
    timeout: 20_000,
  });
}

test('a Node older than engines.node is refused, naming both versions', () => {
  const result = setupWith('>=99.1');
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toBe(
    `error: Node.js >= 99.1 is required (package.json engines.node); found ${process.versions.node}`,
  );
});

test('the project’s own engines.node is what the script reads', () => {
  const engines = JSON.parse(fs.readFileSync('package.json', 'utf8')).engines.node;
  expect(engines).toMatch(/^>=\d+\.\d+$/);
  expect(setupWith(engines)).toMatchObject({ exitCode: 0, stderr: '' });
});
