import * as path from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../../src/temporal/package-paths';

test('`sop worker` polls until SIGTERM, then drains and exits 0', async () => {
  const worker = execa(
    'node',
    [path.join(packageRoot, 'bin', 'sop.js'), 'worker', '--task-queue', 'shutdown-test'],
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
  expect(Date.now() - stoppedAt).toBeLessThan(15_000);
});
