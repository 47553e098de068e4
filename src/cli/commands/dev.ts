import type { Command } from 'commander';
import { connectWorkerConnection } from '../../temporal/connect';
import { stopDevServer } from '../../temporal/dev-server';
import { createSopWorker } from '../../worker/create-worker';
import { installRuntime } from '../../worker/runtime';
import { CliError, ExitCode } from '../errors';

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('the embedded dev server and a worker in one process tree; Ctrl-C stops both')
    .option('--keep-server', 'leave the dev server running on exit')
    .action(async (opts: { keepServer?: boolean }) => {
      installRuntime('INFO');
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const { connection, target } = await connectWorkerConnection({ log });
      if (target.kind !== 'embedded') {
        await connection.close();
        throw new CliError(
          '`sop dev` runs the embedded dev server; unset TEMPORAL_ADDRESS',
          ExitCode.usage,
          'use `sop worker` against a cluster',
        );
      }
      const worker = await createSopWorker({ connection, target, log });
      log(
        `dev: worker on ${target.taskQueue} at ${target.address}; Web UI ${target.webUiUrl}; Ctrl-C stops everything`,
      );
      await worker.run();
      await connection.close();
      if (!opts.keepServer) log(await stopDevServer(target));
    });
}
