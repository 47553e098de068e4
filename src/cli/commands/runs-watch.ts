// `sop runs watch`: what every running agent of the fleet does, as it happens, from any machine that
// reaches the Temporal server (the agent activities' heartbeat details; nothing read from a worker's disk).
import type { Command } from 'commander';
import { followLiveActions, runningRunIds } from '../../client/live-activity';
import { CliError, ExitCode } from '../errors';
import { printLiveAction } from '../live-output';
import { withSopClient } from '../with-client';

/** How long the list of running runs is reused before visibility is asked again. */
const RUNS_REFRESH_MS = 2_000;

export function registerRunsWatch(runs: Command): void {
  runs
    .command('watch')
    .description(
      'print what the agents of running runs do (commands, files, tools, denials, approvals) as it happens, until Ctrl-C',
    )
    .option('--sop <name>', 'only runs of this SOP')
    .option('--for <seconds>', 'stop after this many seconds')
    .option('--json', 'one JSON object per action')
    .action(async (opts: { sop?: string; for?: string; json?: boolean }) => {
      const seconds = opts.for === undefined ? undefined : Number(opts.for);
      if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0))
        throw new CliError('--for must be a number of seconds above 0', ExitCode.usage);
      await withSopClient(async (client) => {
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const timer = seconds === undefined ? undefined : setTimeout(onSignal, seconds * 1000);
        process.stderr.write(
          `watching the running runs${opts.sop ? ` of ${opts.sop}` : ''} (Ctrl-C to stop)\n`,
        );
        let ids: string[] = [];
        let listedAt = 0;
        const running = async () => {
          if (Date.now() - listedAt >= RUNS_REFRESH_MS) {
            ids = await runningRunIds(client.client, opts.sop);
            listedAt = Date.now();
          }
          return ids;
        };
        try {
          // every running run is listed, child runs too: each is described on its own
          await followLiveActions(
            client.client,
            running,
            (seen) => printLiveAction(seen, { json: opts.json, run: true }),
            stop.signal,
            { children: false },
          );
        } finally {
          if (timer) clearTimeout(timer);
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      });
    });
}
