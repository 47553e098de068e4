// Dead code does not pile up: knip (configured in knip.json: the package's entry points, the CLI, the
// processes started by path, bench/, scripts/ and the tests) finds no unused file, export or exported type
// in src/. Activities and workflows are used by name through the worker and proxyActivities: an export
// only used that way carries a `@public` tag saying so. Runs `npm run lint:unused` (about 8 s).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

test('knip finds no unused files, exports or exported types (npm run lint:unused)', () => {
  const knip = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules', 'knip', 'bin', 'knip.js'), '--no-progress'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  // what is listed is dead code to delete, or an entry point knip.json does not name yet
  expect(`${knip.stdout}${knip.stderr}`.trim()).toBe('');
  expect(knip.status).toBe(0);
}, 60_000);
