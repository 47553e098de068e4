import type { Command } from 'commander';
import type { SopClient } from '../../client';
import { CliError, ExitCode } from '../errors';
import { runRef, withSopClient } from '../with-client';

/** The verbs that steer a running run: answer, message, cancel. */
export function registerControl(program: Command): void {
  program
    .command('answer')
    .description('answer the input a run waits for (checked against the requested schema)')
    .argument('<sop>', 'SOP name (or SOP/TASK)')
    .argument('[task]', 'task id')
    .option('--value <json>', 'the answer as JSON')
    .option('--approve', 'answer {"approve": true}')
    .option('--reject <why>', 'answer {"approve": false, "guidance": WHY}')
    .option('--request <id>', 'the pending request id (when it matters)')
    .action(
      async (
        sopArg: string,
        taskArg: string | undefined,
        opts: { value?: string; approve?: boolean; reject?: string; request?: string },
      ) => {
        const { sop, task } = runRef(sopArg, taskArg);
        const given = [opts.value !== undefined, Boolean(opts.approve), opts.reject !== undefined].filter(
          Boolean,
        ).length;
        if (given !== 1)
          throw new CliError('give exactly one of --value JSON, --approve, --reject WHY', ExitCode.usage);
        let value: unknown;
        if (opts.value !== undefined) {
          try {
            value = JSON.parse(opts.value);
          } catch (err) {
            throw new CliError(`--value is not valid JSON: ${(err as Error).message}`, ExitCode.usage);
          }
        } else value = opts.approve ? { approve: true } : { approve: false, guidance: opts.reject };
        await withSopClient(async (client) => {
          const { status: temporalStatus } = await client.describe(sop, task);
          const view = temporalStatus.name === 'RUNNING' ? await client.status(sop, task) : undefined;
          const status = view?.status ?? temporalStatus.name.toLowerCase();
          if (status !== 'waiting_input') {
            throw new CliError(`${sop}/${task} is not waiting for input (it is ${status})`, ExitCode.failure);
          }
          if (view?.waitingIn && !view.pendingInput) {
            throw new CliError(
              `${sop}/${task} waits for input in its child run ${view.waitingIn.workflowId}, not in itself`,
              ExitCode.failure,
              `answer the child run: sop answer ${view.waitingIn.workflowId} (sop runs show ${view.waitingIn.workflowId} shows the question)`,
            );
          }
          try {
            // the request shown to the person is the one answered, even if another arrives meanwhile
            await client.answer(sop, task, value, opts.request ?? view?.pendingInput?.requestId);
          } catch (err) {
            throw new CliError(
              (err as Error).message,
              ExitCode.failure,
              'see the schema with `sop runs show --json`',
            );
          }
          process.stdout.write(`answer accepted by ${sop}/${task}\n`);
        });
      },
    );

  program
    .command('message')
    .description('inject a message into the next agent prompt of a run')
    .argument('<sop>', 'SOP name (or SOP/TASK)')
    .argument('[task]', 'task id')
    .argument('[text...]', 'the message')
    .action(async (sopArg: string, taskArg: string | undefined, words: string[]) => {
      const slash = sopArg.includes('/');
      const { sop, task } = runRef(sopArg, slash ? undefined : taskArg);
      const text = (slash && taskArg ? [taskArg, ...words] : words).join(' ').trim();
      if (!text) throw new CliError('the message is empty', ExitCode.usage);
      await withSopClient(async (client) => {
        await refuseFinished(client, sop, task, 'a message can no longer reach it');
        await client.message(sop, task, text);
        process.stdout.write(`message queued for the next agent prompt of ${sop}/${task}\n`);
      });
    });

  program
    .command('cancel')
    .description('cancel a run: the running harness is stopped, everything so far is kept')
    .argument('<sop>', 'SOP name (or SOP/TASK)')
    .argument('[task]', 'task id')
    .action(async (sopArg: string, taskArg: string | undefined) => {
      const given = runRef(sopArg, taskArg);
      await withSopClient(async (client) => {
        const { sop, task } = await client.locate(given.sop, given.task);
        await refuseFinished(client, sop, task, 'there is nothing to cancel');
        await client.cancel(sop, task);
        process.stdout.write(`cancellation requested for ${sop}/${task}\n`);
      });
    });
}

/** A run that has ended cannot be steered: say how it ended (exit 1) instead of a server error. */
async function refuseFinished(client: SopClient, sop: string, task: string, why: string): Promise<void> {
  const { status } = await client.describe(sop, task);
  if (status.name === 'RUNNING') return;
  throw new CliError(
    `run ${sop}/${task} has already finished (${status.name.toLowerCase()}): ${why}`,
    ExitCode.failure,
    `sop runs show ${sop} ${task}`,
  );
}
