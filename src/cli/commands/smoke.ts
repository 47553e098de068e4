import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { connectClient, connectWorkerConnection } from '../../temporal/connect';
import { SopName, SopTaskId } from '../../temporal/search-attributes';
import { workflowUiLink } from '../../temporal/target';
import { createSopWorker } from '../../worker/create-worker';
import { installRuntime } from '../../worker/runtime';
import { printJson } from '../output';

export function registerSmoke(program: Command): void {
  program
    .command('smoke')
    .description('check the installation: run a one-activity workflow end to end with an in-process worker')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      installRuntime();
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const { client, target } = await connectClient({ log, startDevServer: false });
      const { connection } = await connectWorkerConnection({ target, startDevServer: false });
      const taskQueue = `${target.taskQueue}-smoke`;
      const worker = await createSopWorker({ connection, target, taskQueue, log });
      const taskId = `smoke-${randomUUID().slice(0, 8)}`;
      const workflowId = `smoke/${taskId}`;
      try {
        const result = await worker.runUntil(async () => {
          const handle = await client.workflow.start('smokeWorkflow', {
            workflowId,
            taskQueue,
            args: [`hello from ${taskId}`],
            staticSummary: 'Installation smoke test: one echo activity',
            typedSearchAttributes: [
              { key: SopName, value: 'smoke' },
              { key: SopTaskId, value: taskId },
            ],
          });
          return { runId: handle.firstExecutionRunId, ...(await handle.result()) };
        });
        const link = workflowUiLink(target, workflowId, result.runId);
        if (opts.json) printJson({ workflowId, ...result, webUi: link ?? null });
        else {
          process.stdout.write(`smoke workflow ${workflowId} completed: ${JSON.stringify(result.echoed)}\n`);
          if (link) process.stdout.write(`Web UI: ${link}\n`);
        }
      } finally {
        await connection.close();
        await client.connection.close();
      }
    });
}
