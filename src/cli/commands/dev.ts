import * as path from 'node:path';
import type { Command } from 'commander';
import { type ModelServer, startModelServer } from '../../scripted-model/model-server';
import { loadScenario } from '../../scripted-model/scenario';
import { describeCatalog } from '../../sop/catalog';
import { connectWorkerConnection } from '../../temporal/connect';
import { stopDevServer } from '../../temporal/dev-server';
import { createFleetWorker } from '../../worker/create-worker';
import { installRuntime } from '../../worker/runtime';
import { CliError, ExitCode } from '../errors';

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('the embedded dev server and a worker in one process tree; Ctrl-C stops both')
    .option('--keep-server', 'leave the dev server running on exit')
    .option(
      '--scenario <file>',
      'also serve this scripted model scenario on loopback and point both harnesses at it (offline)',
    )
    .option(
      '-C, --project <dir>',
      'catalog root: its sops/ and sop.config.yaml (default: the working directory)',
    )
    .action(async (opts: { keepServer?: boolean; scenario?: string; project?: string }) => {
      installRuntime('INFO');
      const log = (line: string) => process.stderr.write(`${line}\n`);
      let model: ModelServer | undefined;
      if (opts.scenario) {
        let scenario: ReturnType<typeof loadScenario>;
        try {
          scenario = loadScenario(opts.scenario);
        } catch (err) {
          throw new CliError((err as Error).message, ExitCode.usage);
        }
        model = await startModelServer(scenario);
        // the worker's harness adapters read these when they are created, below
        process.env.SOP_CODEX_BASE_URL = `${model.url}/v1`;
        process.env.SOP_CLAUDE_BASE_URL = model.url;
        // the exact values, so a worker or `sop run` in another shell can be pointed at the same server
        log(
          `dev: scripted model server (scenario ${opts.scenario}): SOP_CODEX_BASE_URL=${process.env.SOP_CODEX_BASE_URL} SOP_CLAUDE_BASE_URL=${process.env.SOP_CLAUDE_BASE_URL}`,
        );
      }
      const { connection, target } = await connectWorkerConnection({ log });
      if (target.kind !== 'embedded') {
        await connection.close();
        await model?.close();
        throw new CliError(
          '`sop dev` runs the embedded dev server; unset TEMPORAL_ADDRESS',
          ExitCode.usage,
          'use `sop worker` against a cluster',
        );
      }
      // a fleet worker like `sop worker`: repo.url runs are provisioned here and served on its own queue
      const projectDir = path.resolve(opts.project ?? '.');
      const worker = await createFleetWorker({ connection, target, log, activities: { projectDir } });
      for (const line of describeCatalog(projectDir)) log(line);
      log(
        `dev: worker on ${target.taskQueue} (own queue ${worker.workerQueue}) at ${target.address}; Web UI ${target.webUiUrl}; Ctrl-C stops everything`,
      );
      await worker.run();
      await connection.close();
      await model?.close();
      if (!opts.keepServer) log(await stopDevServer(target));
    });
}
