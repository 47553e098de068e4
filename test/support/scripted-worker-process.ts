import * as path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { killAfterAll } from './kill-after-all';

/**
 * test/support/scripted-worker.js in a process of its own, so a test can kill it; resolves once it polls.
 * Resolves with a wrapper: the execa child is itself a promise, which resolve() would wait for. A run's
 * workflow task waits 1 s, not Temporal's 10 s, for this worker once it is killed (SOP_WORKER_STICKY_TIMEOUT_MS).
 */
export function startScriptedWorker(
  env: Record<string, string>,
  cwd?: string,
): Promise<{ child: ResultPromise }> {
  const child = killAfterAll(
    execa('node', [path.join(__dirname, 'scripted-worker.js')], {
      ...(cwd ? { cwd } : {}),
      env: { SOP_WORKER_STICKY_TIMEOUT_MS: '1000', ...env },
      reject: false,
      stdin: 'ignore',
    }),
  );
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve({ child });
    });
    child.then((r) => reject(new Error(`worker exited early: ${r.stderr}`)));
  });
}
