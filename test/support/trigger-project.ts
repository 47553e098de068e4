import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { packageRoot } from '../../src/temporal/package-paths';

/**
 * A project for trigger tests: `sops/<name>/sop.yaml` (command steps only: no harness needed), a git
 * repository the triggered runs work in (repo defaults to the project), and a task queue of its own.
 */
export function triggerProject(
  name: string,
  yaml: string,
): { dir: string; taskQueue: string; write(yaml: string): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-trigger-'));
  const write = (text: string) => {
    fs.mkdirSync(path.join(dir, 'sops', name), { recursive: true });
    fs.writeFileSync(path.join(dir, 'sops', name, 'sop.yaml'), text);
  };
  write(yaml);
  fs.writeFileSync(path.join(dir, '.gitignore'), '.sop/\n');
  return { dir, taskQueue: `triggers-${randomUUID().slice(0, 8)}`, write };
}

export async function gitInit(dir: string): Promise<void> {
  const git = (args: string[]) => execa('git', args, { cwd: dir, stdin: 'ignore' });
  await git(['init', '-q']);
  await git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'init']);
}

/** A real `sop worker` process serving `taskQueue`, with the project as its catalog (its cwd). */
export async function startSopWorker(project: string, taskQueue: string): Promise<{ child: ResultPromise }> {
  const child = execa(
    'node',
    [path.join(packageRoot, 'bin', 'sop.js'), 'worker', '--task-queue', taskQueue],
    {
      cwd: project,
      env: { SOP_TASK_QUEUE: taskQueue },
      stdin: 'ignore',
      reject: false,
    },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('worker polling')) resolve();
    });
    void child.then(() => reject(new Error(`sop worker exited: ${log}`)));
  });
  // a wrapper: the child is itself a promise, which an await would wait for
  return { child };
}
