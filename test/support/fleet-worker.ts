import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { packageRoot } from '../../src/temporal/package-paths';
import { killAfterAll } from './kill-after-all';

export interface FleetWorker {
  name: string;
  child: ResultPromise;
  /** its own (worker-specific) task queue */
  queue: string;
  /** its stderr so far */
  log: () => string;
}

/**
 * A real `sop worker` on a "machine" of its own (HOME and SOP_WORK_ROOT under `machines/<name>`, which must
 * not be under /tmp), polling `sharedQueue`; resolves once it polls its own queue too.
 */
export function startFleetWorker(
  machines: string,
  name: string,
  sharedQueue: string,
  env: Record<string, string> = {},
): Promise<FleetWorker> {
  const home = path.join(machines, name, 'home');
  fs.mkdirSync(home, { recursive: true });
  const child = killAfterAll(
    execa('node', [path.join(packageRoot, 'bin', 'sop.js'), 'worker', '--task-queue', sharedQueue], {
      cwd: home,
      // a killed worker's runs wait 1 s for it, not Temporal's 10 s (tests kill workers)
      env: {
        HOME: home,
        SOP_WORK_ROOT: path.join(machines, name, 'work'),
        SOP_WORKER_STICKY_TIMEOUT_MS: '1000',
        ...env,
      },
      stdin: 'ignore',
      reject: false,
    }),
  );
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const queue = /its own queue (\S+)/.exec(log)?.[1];
      if (queue) resolve({ name, child, queue, log: () => log });
    });
    void child.then(() => reject(new Error(`sop worker ${name} exited: ${log}`)));
  });
}

/** Commits everything in `seed` and returns a bare clone of it (in /tmp) whose `seed` tag run branches start from. */
export async function bareRemoteOf(seed: string, prefix: string): Promise<string> {
  const git = (...args: string[]) =>
    execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: seed });
  await git('add', '-A');
  await git('commit', '-qm', 'seed');
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  await execa('git', ['clone', '--quiet', '--bare', seed, bare]);
  await execa('git', ['tag', 'seed', 'HEAD'], { cwd: bare });
  return bare;
}
