import * as path from 'node:path';
import type { Command } from 'commander';
import { workRootPath, workRootProblem } from '../../harnesses/state-dir';
import { describeCatalog } from '../../sop/catalog';
import { connectWorkerConnection } from '../../temporal/connect';
import { createFleetWorker } from '../../worker/create-worker';
import { installRuntime } from '../../worker/runtime';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'run a worker on the task queue and its own worker queue until SIGINT/SIGTERM (run several, on several machines, to scale)',
    )
    .option('--task-queue <name>', 'task queue to poll (default: SOP_TASK_QUEUE or sop-runtime)')
    .option(
      '-C, --project <dir>',
      'catalog root: its sops/ and sop.config.yaml (default: the working directory)',
    )
    .action(async (opts: { taskQueue?: string; project?: string }) => {
      installRuntime(process.env.SOP_LOG_LEVEL ? undefined : 'INFO');
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const projectDir = path.resolve(opts.project ?? '.');
      const { connection, target } = await connectWorkerConnection({ log, startDevServer: false });
      const worker = await createFleetWorker({
        connection,
        target,
        taskQueue: opts.taskQueue,
        log,
        activities: { projectDir },
      });
      for (const line of describeCatalog(projectDir)) log(line);
      const workRoot = workRootPath();
      const problem = workRootProblem(workRoot);
      log(
        problem
          ? `warning: repo.url runs will be refused on this worker: ${problem}`
          : `repo.url workspaces go to ${workRoot}`,
      );
      log(
        `worker polling task queue ${worker.sharedQueue} and its own queue ${worker.workerQueue} at ${target.address}; Ctrl-C to stop`,
      );
      // Worker.run() returns once a shutdown signal (SIGINT/SIGTERM) has drained in-flight work.
      await worker.run();
      await connection.close();
      log('worker stopped');
    });
}
