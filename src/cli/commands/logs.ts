import * as fs from 'node:fs';
import * as path from 'node:path';
import type { temporal } from '@temporalio/proto';
import type { Command } from 'commander';
import { followHistory } from '../../client/follow-history';
import {
  endedExecutions,
  followLiveActions,
  LiveActionTracker,
  type SeenAction,
} from '../../client/live-activity';
import { fetchRunEvents, type RunEvent, renderRunEvents } from '../../client/run-events';
import { SopTaskId } from '../../temporal/search-attributes';
import { CliError, ExitCode } from '../errors';
import { printLiveAction } from '../live-output';
import { runRef, withSopClient } from '../with-client';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("a run's SOP-level events, rendered from its workflow history")
    .argument('<sop>', 'SOP name (or SOP/TASK)')
    .argument('[task]', 'task id')
    .option('--events', 'SOP-level events (the default)')
    .option(
      '--follow',
      'keep printing new events until the run ends, and what each running agent does (commands, files, tools, denials) as it happens',
    )
    .option('--raw <step>', "the harness transcripts of a step's executions (JSONL as the harness wrote it)")
    .option('--item <id>', 'with --raw: only this worklist item')
    .option(
      '--exit-status',
      'exit 1 when the run failed, was cancelled or terminated (with --follow: once it ends)',
    )
    .option('--json', 'one JSON object per event (with step, item, role, attempt, rework, route, timeMs)')
    .action(
      async (
        sopArg: string,
        taskArg: string | undefined,
        opts: { follow?: boolean; json?: boolean; raw?: string; item?: string; exitStatus?: boolean },
      ) => {
        const given = runRef(sopArg, taskArg);
        await withSopClient(async (client) => {
          const { sop, task } = await client.locate(given.sop, given.task);
          const description = await client.describe(sop, task);
          if (opts.raw) {
            const workspace = (description.memo as { workspace?: string } | undefined)?.workspace;
            if (!workspace) throw new CliError(`${sop}/${task} records no workspace`, ExitCode.notFound);
            // a child run of a kind: sop step: its run folder is its own SOP's and task's
            const folder =
              description.type === sop
                ? path.join(sop, task)
                : path.join(description.type, description.typedSearchAttributes.get(SopTaskId) ?? task);
            printTranscripts(path.join(workspace, '.sop', 'runs', folder), opts.raw, opts.item);
            return;
          }
          const handle = client.getHandle(sop, task);
          const print = (e: RunEvent) =>
            process.stdout.write(
              opts.json
                ? `${JSON.stringify(e)}\n`
                : `${e.time.slice(11, 19)}  ${e.kind.padEnd(15)} ${e.text}\n`,
            );
          let status = description.status.name;
          if (opts.follow) {
            // each execution's events as the server writes them (long poll), rendered over all so far
            const raw = new Map<string, HistoryEvent[]>();
            let seen = 0;
            // the agents' actions from their activities' heartbeats, between the history's events
            const stopLive = new AbortController();
            const tracker = new LiveActionTracker();
            const printAction = (action: SeenAction) => printLiveAction(action, { json: opts.json });
            let live: Promise<void> | undefined;
            try {
              for await (const batch of followHistory(client.client, handle.workflowId)) {
                // once the events so far are out: then the actions, as they happen, between the new ones
                live ??= followLiveActions(
                  client.client,
                  () => [handle.workflowId],
                  printAction,
                  stopLive.signal,
                  {
                    tracker,
                  },
                );
                const read = raw.get(batch.runId)?.length ?? 0;
                raw.set(batch.runId, [...(raw.get(batch.runId) ?? []), ...batch.events]);
                // an execution's last actions may have come after the last heartbeat read: from its result
                const history = raw.get(batch.runId)!;
                const ended = endedExecutions(handle.workflowId, batch.runId, history, read);
                for (const action of tracker.newActions(ended)) printAction(action);
                const events = [...raw.values()].flatMap((history) => renderRunEvents(history));
                for (const event of events.slice(seen)) print(event);
                seen = events.length;
              }
            } finally {
              stopLive.abort();
              await live;
            }
            status = (await handle.describe()).status.name;
          } else {
            for (const event of await fetchRunEvents(client.client, handle)) print(event);
          }
          if (opts.exitStatus && status !== 'RUNNING' && status !== 'COMPLETED') {
            throw new CliError(
              `run ${sop}/${task} ${status === 'FAILED' ? 'failed' : `ended ${status.toLowerCase()}`}`,
              ExitCode.failure,
              `sop runs show ${sop} ${task}`,
            );
          }
        });
      },
    );
}

/** Every transcript of the step (each execution under a header), oldest first. */
function printTranscripts(runFolder: string, step: string, item?: string): void {
  const stepsDir = path.join(runFolder, 'steps');
  const all = fs.existsSync(stepsDir) ? (fs.readdirSync(stepsDir, { recursive: true }) as string[]) : [];
  const transcripts = all
    .filter((f) => path.basename(f) === 'transcript.jsonl')
    .map((f) => f.split(path.sep));
  const stepsWith = [...new Set(transcripts.map((parts) => parts[0]))].sort();
  const mine = transcripts.filter(
    (parts) => parts[0] === step && (item === undefined || (parts.length === 4 && parts[1] === item)),
  );
  if (mine.length === 0) {
    throw new CliError(
      `no harness transcript for step ${step}${item ? ` item ${item}` : ''} in ${runFolder}`,
      ExitCode.notFound,
      stepsWith.length ? `steps with transcripts: ${stepsWith.join(', ')}` : 'no agent step has run yet',
    );
  }
  mine.sort(
    (a, b) => a[a.length - 2].localeCompare(b[b.length - 2]) || a.join('/').localeCompare(b.join('/')),
  );
  for (const parts of mine) {
    const file = path.join(stepsDir, ...parts);
    process.stderr.write(`== ${path.relative(runFolder, path.dirname(file))}\n`);
    process.stdout.write(fs.readFileSync(file, 'utf8'));
  }
}
