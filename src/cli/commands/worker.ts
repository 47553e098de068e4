import type { Command } from 'commander';
import { connectWorkerConnection } from '../../temporal/connect';
import { createSopWorker } from '../../worker/create-worker';
import { installRuntime } from '../../worker/runtime';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'run a worker on the task queue until SIGINT/SIGTERM (run several, on several machines, to scale)',
    )
    .option('--task-queue <name>', 'task queue to poll (default: SOP_TASK_QUEUE or sop-runtime)')
    .action(async (opts: { taskQueue?: string }) => {
      installRuntime(process.env.SOP_LOG_LEVEL ? undefined : 'INFO');
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const { connection, target } = await connectWorkerConnection({ log, startDevServer: false });
      const worker = await createSopWorker({ connection, target, taskQueue: opts.taskQueue, log });
      log(
        `worker polling task queue ${opts.taskQueue ?? target.taskQueue} at ${target.address}; Ctrl-C to stop`,
      );
      // Worker.run() returns once a shutdown signal (SIGINT/SIGTERM) has drained in-flight work.
      await worker.run();
      await connection.close();
      log('worker stopped');
    });
}
