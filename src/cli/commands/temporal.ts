import type { Command } from 'commander';
import { connectClient } from '../../temporal/connect';
import { ensureDevServer, stopDevServer } from '../../temporal/dev-server';
import { resolveTemporalTarget } from '../../temporal/target';
import { CliError, ExitCode } from '../errors';
import { printJson } from '../output';

/** `sop temporal`: the Temporal server the runs live on (`sop temporal`, its old name, still works). */
export function registerTemporal(program: Command): void {
  const server = program
    .command('temporal')
    .alias('server')
    .description(
      'the embedded Temporal dev server (or the configured cluster); not `sop serve`, the webhook server',
    );

  server
    .command('start')
    .description('build (first time) and start the embedded dev server in the background; no-op if running')
    .action(async () => {
      const target = embeddedOnly('start');
      await ensureDevServer(target, (line) => process.stderr.write(`${line}\n`), { verbose: true });
    });

  server
    .command('stop')
    .description('stop the embedded dev server (its database is kept)')
    .action(async () => {
      process.stdout.write(`${await stopDevServer(embeddedOnly('stop'))}\n`);
    });

  server
    .command('status')
    .description('check that Temporal answers, and where its Web UI is')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { client, target } = await connectClient({ startDevServer: false });
      try {
        const info = await client.workflowService.getSystemInfo({});
        const status = {
          kind: target.kind,
          address: target.address,
          namespace: target.namespace,
          taskQueue: target.taskQueue,
          serverVersion: info.serverVersion,
          webUi: target.webUiUrl ?? null,
        };
        if (opts.json) printJson(status);
        else {
          process.stdout.write(
            `Temporal ${status.serverVersion} at ${status.address} (${status.kind}), namespace ${status.namespace}\n`,
          );
          if (status.webUi) process.stdout.write(`Web UI: ${status.webUi}\n`);
        }
      } finally {
        await client.connection.close();
      }
    });
}

function embeddedOnly(verb: string) {
  const target = resolveTemporalTarget();
  if (target.kind !== 'embedded') {
    throw new CliError(
      `\`sop temporal ${verb}\` manages the embedded dev server, but ${target.source} points at ${target.address}`,
      ExitCode.usage,
      'unset TEMPORAL_ADDRESS / TEMPORAL_PROFILE to use the embedded dev server',
    );
  }
  return target;
}
