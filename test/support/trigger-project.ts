import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
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

/** A real `sop worker` process serving `taskQueue`, with the project as its catalog (its cwd); `log()` is its stderr so far. */
export async function startSopWorker(
  project: string,
  taskQueue: string,
  env: Record<string, string> = {},
): Promise<{ child: ResultPromise; log: () => string }> {
  const child = execa(
    'node',
    [path.join(packageRoot, 'bin', 'sop.js'), 'worker', '--task-queue', taskQueue],
    {
      cwd: project,
      // a killed worker's runs wait 1 s for it, not Temporal's 10 s (tests kill workers)
      env: { SOP_WORKER_STICKY_TIMEOUT_MS: '1000', ...env, SOP_TASK_QUEUE: taskQueue },
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
  return { child, log: () => log };
}

/** The runs of an SOP by workflow id (every status), from visibility, sorted. */
export async function runIdsOf(client: Client, sop: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = '${sop}'` })) ids.push(wf.workflowId);
  return ids.sort();
}

/** true once the run exists and completed; undefined while it does not exist yet or still runs; throws when it ended otherwise. */
export async function completedRun(client: Client, id: string): Promise<true | undefined> {
  const d = await client.workflow
    .getHandle(id)
    .describe()
    .catch((err: Error) => (err.name === 'WorkflowNotFoundError' ? undefined : Promise.reject(err)));
  if (d && d.status.name !== 'RUNNING' && d.status.name !== 'COMPLETED')
    throw new Error(`${id} ${d.status.name}`);
  return d?.status.name === 'COMPLETED' ? true : undefined;
}

/** A sensor test's end: the sensor workflow terminated, the `sop worker` process stopped, the client closed. */
export async function endSensorTest(
  ctx: { client: Client; close(): Promise<void> } | undefined,
  sensorId: string,
  worker: ResultPromise | undefined,
): Promise<void> {
  await ctx?.client.workflow
    .getHandle(sensorId)
    .terminate('test over')
    .catch(() => undefined);
  worker?.kill('SIGTERM');
  await worker;
  await ctx?.close();
}
