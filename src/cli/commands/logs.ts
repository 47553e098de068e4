import type { Command } from 'commander';
import { fetchRunEvents, type RunEvent } from '../../client/run-events';
import { runRef, withSopClient } from '../with-client';

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("a run's SOP-level events, rendered from its workflow history")
    .argument('<sop>', 'SOP name (or SOP/TASK)')
    .argument('[task]', 'task id')
    .option('--events', 'SOP-level events (the default)')
    .option('--follow', 'keep printing new events until the run ends')
    .option('--json', 'one JSON object per event')
    .action(
      async (sopArg: string, taskArg: string | undefined, opts: { follow?: boolean; json?: boolean }) => {
        const { sop, task } = runRef(sopArg, taskArg);
        await withSopClient(async (client) => {
          await client.describe(sop, task);
          const handle = client.getHandle(sop, task);
          const print = (e: RunEvent) =>
            process.stdout.write(
              opts.json
                ? `${JSON.stringify(e)}\n`
                : `${e.time.slice(11, 19)}  ${e.kind.padEnd(15)} ${e.text}\n`,
            );
          let seen = 0;
          for (;;) {
            const events = await fetchRunEvents(handle);
            for (const event of events.slice(seen)) print(event);
            seen = events.length;
            if (!opts.follow) break;
            const { status } = await handle.describe();
            if (status.name !== 'RUNNING') {
              for (const event of (await fetchRunEvents(handle)).slice(seen)) print(event);
              break;
            }
            await new Promise((r) => setTimeout(r, 1_000));
          }
        });
      },
    );
}
