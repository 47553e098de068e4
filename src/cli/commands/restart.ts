import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import type { SopClient } from '../../client';
import { followToEnd, reportOutcome, withWorker } from '../attach';
import { CliError, ExitCode } from '../errors';
import { printJson } from '../output';
import { runRef, withSopClient } from '../with-client';
import { isInteractive } from './run';

interface RestartOptions {
  detach?: boolean;
  worker: boolean;
  json?: boolean;
  project?: string;
}

const PROJECT_HELP =
  "catalog root of the in-process worker, for the SOPs the run's kind: sop steps call and its events start (default: the run's workspace, as sop run)";

/** `sop resume` and `sop rerun`: a new execution of a finished task, from the state it reached. */
export function registerRestart(program: Command): void {
  program
    .command('resume')
    .description(
      'continue a failed or cancelled run from its last accepted step (for a waiting run: show what it waits for)',
    )
    .argument('<sop>', 'SOP name (or SOP/TASK)')
    .argument('[task]', 'task id')
    .option('--detach', 'start and return; follow with sop logs --follow')
    .option('--no-worker', 'do not start an in-process worker (workers run elsewhere)')
    .option('-C, --project <dir>', PROJECT_HELP)
    .option('--json', 'machine-readable result')
    .action(async (sopArg: string, taskArg: string | undefined, opts: RestartOptions) => {
      const { sop, task } = runRef(sopArg, taskArg);
      await withSopClient(async (client) => {
        const description = await client.describe(sop, task);
        if (description.status.name === 'RUNNING') {
          const status = await client.status(sop, task);
          if (status.pendingInput) {
            const p = status.pendingInput;
            if (opts.json) return printJson({ status: status.status, pendingInput: p });
            process.stdout.write(
              `${sop}/${task} is waiting for input${p.item ? ` (step ${p.step}, item ${p.item})` : ` (step ${p.step})`}:\n` +
                `  ${p.question}\n  schema: ${JSON.stringify(p.schema)}\n` +
                `answer with: sop answer ${sop} ${task} --value '<json>'\n`,
            );
            return;
          }
          throw new CliError(
            `run ${sop}/${task} is still running: nothing to resume`,
            ExitCode.failure,
            `sop logs ${sop} ${task} --follow`,
          );
        }
        await restartAndFollow(client, sop, task, { resume: true }, opts);
      });
    });

  program
    .command('rerun')
    .description('re-execute one step of a finished run and everything that depends on it')
    .argument('<sop>', 'SOP name (or SOP/TASK)')
    .argument('[task]', 'task id')
    .requiredOption('--step <name>', 'the step to run again')
    .option('--context <text>', 'extra instructions for the step, added to its prompt')
    .option(
      '--item <id>',
      'for a worklist step: re-run this item (repeatable; default: every item)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--detach', 'start and return; follow with sop logs --follow')
    .option('--no-worker', 'do not start an in-process worker (workers run elsewhere)')
    .option('-C, --project <dir>', PROJECT_HELP)
    .option('--json', 'machine-readable result')
    .action(
      async (
        sopArg: string,
        taskArg: string | undefined,
        opts: RestartOptions & { step: string; context?: string; item?: string[] },
      ) => {
        const { sop, task } = runRef(sopArg, taskArg);
        const rerun = { step: opts.step, context: opts.context, items: opts.item };
        await withSopClient((client) => restartAndFollow(client, sop, task, { rerun }, opts));
      },
    );
}

async function restartAndFollow(
  client: SopClient,
  sop: string,
  taskId: string,
  how: Parameters<SopClient['restart']>[2],
  opts: RestartOptions,
): Promise<void> {
  const link = client.webUiLink(sop, taskId);
  // the checkpoint of a closed run is read by replaying it: the in-process worker serves that too; a
  // detached restart leaves the run to the workers already polling, so it starts none next to them
  const serve = opts.worker && !(opts.detach && (await client.workers(client.target.taskQueue)).length > 0);
  const projectDir = serve ? (opts.project ?? (await recordedWorkspace(client, sop, taskId))) : undefined;
  const outcome = await withWorker(
    client,
    serve,
    async () => {
      const handle: WorkflowHandle = await client.restart(sop, taskId, how);
      const what =
        'resume' in how
          ? 'resumed'
          : `re-running ${how.rerun.step}${how.rerun.items?.length ? ` (items ${how.rerun.items.join(', ')})` : ''} and what follows it in`;
      process.stderr.write(`${what} ${handle.workflowId}${link ? `\nWeb UI: ${link}` : ''}\n`);
      if (opts.detach) return { detached: true as const };
      const checkpoint = await client.checkpoint(sop, taskId);
      return {
        detached: false as const,
        workspace: checkpoint.input.run.workspace,
        followed: await followToEnd(
          client,
          handle,
          { sop, taskId },
          { interactive: isInteractive(opts.json) },
        ),
      };
    },
    { projectDir },
  );
  if (outcome.detached) {
    if (opts.json) printJson({ workflowId: `${sop}/${taskId}`, webUi: link ?? null });
    return;
  }
  reportOutcome(outcome.followed, {
    sop,
    taskId,
    workflowId: `${sop}/${taskId}`,
    workspace: outcome.workspace,
    link,
    json: opts.json,
  });
}

/** The workspace the run recorded (memo), when it is a folder here: the default catalog root, as `sop run`'s. */
async function recordedWorkspace(
  client: SopClient,
  sop: string,
  taskId: string,
): Promise<string | undefined> {
  const workspace = (await client.describe(sop, taskId)).memo?.workspace;
  return typeof workspace === 'string' && path.isAbsolute(workspace) && fs.existsSync(workspace)
    ? workspace
    : undefined;
}
