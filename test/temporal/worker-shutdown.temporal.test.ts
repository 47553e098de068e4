import * as path from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../../src/temporal/package-paths';
import { catalogProject } from '../support/sop-project';

test('`sop worker -C DIR` prints its catalog, polls until SIGTERM, then drains and exits 0', async () => {
  const project = catalogProject('sop-worker-', { mine: 'name: mine\nsteps: {}\n' });
  const worker = execa(
    'node',
    [path.join(packageRoot, 'bin', 'sop.js'), 'worker', '--task-queue', 'shutdown-test', '-C', project],
    {
      reject: false,
      stdin: 'ignore',
      all: true,
    },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start polling:\n${output}`)), 30_000);
    worker.all?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker polling task queue shutdown-test')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const stoppedAt = Date.now();
  worker.kill('SIGTERM');
  const result = await worker;
  expect(result.exitCode).toBe(0);
  expect(result.all).toContain('worker stopped');
  // where this worker resolves every run's SOP from, in order
  expect(result.all).toContain(
    [
      'catalog (the first folder that has a name wins; alter it with -C DIR, the catalog root):',
      "  1. <each run's repository>/.sop/sops/",
      `  2. ${project}/sops/: mine`,
      `  3. ${path.join(packageRoot, 'sops')}/ (shipped): bugfix, pipeline, ralph_loop, review`,
    ].join('\n'),
  );
  expect(Date.now() - stoppedAt).toBeLessThan(15_000);
});
