// Following a run from the terminal: progress lines (or a live line on a TTY), interactive answers to
// input requests on a TTY, and the final outcome with the run folder and the Web UI link.

import * as path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { PromiseCompletionTimeoutError } from '@temporalio/worker';
import { endedRunDenials } from '../activities/run-summary';
import type { SopClient } from '../client';
import { actionText, followLiveActions, liveLabel } from '../client/live-activity';
import { deniedCallsText } from '../shapes/denial-text';
import type { RunStatusView } from '../shapes/messages';
import { connectWorkerConnection } from '../temporal/connect';
import { createSopWorker } from '../worker/create-worker';
import { installRuntime } from '../worker/runtime';
import { CliError, ExitCode } from './errors';
import { describeActive, formatUsd, printJson, roundUsd } from './output';

/**
 * Runs `fn` while an in-process worker serves the task queue (when `enabled`), then stops it; its catalog
 * is `projectDir`'s (default: the working directory). Refuses to share the task queue with a worker that
 * already polls it (`sop dev`, `sop worker`): tasks would go to either, and this one stops when the
 * command ends.
 */
export async function withWorker<T>(
  client: SopClient,
  enabled: boolean,
  fn: () => Promise<T>,
  options: { projectDir?: string } = {},
): Promise<T> {
  if (!enabled) return fn();
  await refuseSharedTaskQueue(client);
  installRuntime();
  const { connection } = await connectWorkerConnection({ target: client.target, startDevServer: false });
  try {
    const worker = await createSopWorker({
      connection,
      target: client.target,
      activities: options.projectDir ? { projectDir: options.projectDir } : {},
    });
    return await worker.runUntil(fn);
  } catch (err) {
    // Ctrl-C stopped the worker before the run ended (followToEnd normally reports that first)
    if (err instanceof PromiseCompletionTimeoutError) throw new FollowInterrupted();
    throw err;
  } finally {
    await connection.close();
  }
}

/** Throws when a worker already polls the client's task queue (call it before starting a run to serve). */
export async function refuseSharedTaskQueue(client: SopClient): Promise<void> {
  const taskQueue = client.target.taskQueue;
  const others = await client.workers(taskQueue);
  if (others.length === 0) return;
  throw new CliError(
    `a worker already polls task queue ${taskQueue} (${others.map((w) => w.identity).join(', ')}, e.g. \`sop dev\` or \`sop worker\`); this command would start a second one next to it`,
    ExitCode.usage,
    'add --no-worker to let that worker serve the run, or set SOP_TASK_QUEUE to another task queue',
  );
}

/** Ctrl-C while following a run: the run itself goes on in Temporal. */
class FollowInterrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'FollowInterrupted';
  }
}

/** What `sop run` / `resume` / `rerun` say after Ctrl-C: the run is not lost, and how to carry on. */
function interruptedError(ref: { sop: string; taskId: string }): CliError {
  const id = `${ref.sop}/${ref.taskId}`;
  return new CliError(
    `stopped following ${id} (Ctrl-C); the run is still in Temporal and goes on whenever a worker serves its task queue`,
    ExitCode.interrupted,
    `sop logs ${id} --follow follows it again (\`sop worker\` serves it) · sop cancel ${id} stops it`,
  );
}

export type Followed =
  | { ok: true; result: unknown }
  | { ok: false; why: string; status?: string; deniedCalls?: number };

/**
 * Follows a run to its end. On failure the status is read here, while a worker still serves queries (a
 * query on a closed workflow is answered by replaying it on a worker).
 */
export async function followToEnd(
  client: SopClient,
  handle: WorkflowHandle,
  ref: { sop: string; taskId: string },
  options: { interactive: boolean; workspace?: string },
): Promise<Followed> {
  try {
    return { ok: true, result: await followRun(client, handle, ref, options) };
  } catch (err) {
    if (err instanceof FollowInterrupted) throw interruptedError(ref);
    const status = await client.status(ref.sop, ref.taskId).catch(() => undefined);
    let deniedCalls = status?.deniedCalls;
    if (deniedCalls === undefined && options.workspace) {
      // no worker answered the query (a loaded machine): what the run stamped into run.json as it ended
      const started = await handle.describe().then(
        (d) => d.startTime.getTime(),
        () => undefined,
      );
      if (started !== undefined)
        deniedCalls = endedRunDenials(runFolderPath(options.workspace, ref), started)?.deniedCalls;
    }
    return {
      ok: false,
      why: status?.failure ?? (err as { cause?: Error }).cause?.message ?? (err as Error).message,
      status: status?.status,
      deniedCalls,
    };
  }
}

function runFolderPath(workspace: string, ref: { sop: string; taskId: string }): string {
  return path.join(workspace, '.sop', 'runs', ref.sop, ref.taskId);
}

/** Prints the outcome of a followed run; a failed or cancelled run is exit code 1. */
export function reportOutcome(
  outcome: Followed,
  ctx: { workflowId: string; sop: string; taskId: string; workspace: string; link?: string; json?: boolean },
): void {
  if (!outcome.ok) {
    if (ctx.json)
      printJson({
        workflowId: ctx.workflowId,
        status: outcome.status ?? 'failed',
        failure: outcome.why,
        deniedCalls: outcome.deniedCalls ?? null,
        webUi: ctx.link ?? null,
      });
    const denied = outcome.deniedCalls ? ` with ${deniedCallsText(outcome.deniedCalls)}` : '';
    throw new CliError(
      `${ctx.workflowId} ${outcome.status ?? 'failed'}${denied}: ${outcome.why}`,
      ExitCode.failure,
      `sop runs show ${ctx.sop} ${ctx.taskId}${outcome.status === 'failed' || outcome.status === 'cancelled' ? ` · sop resume ${ctx.sop} ${ctx.taskId}` : ''}`,
    );
  }
  const runFolder = runFolderPath(ctx.workspace, ctx);
  const r = outcome.result as {
    usage: { agentRuns: number; inputTokens: number; outputTokens: number; costUsd: number };
    deniedCalls?: number;
  };
  if (ctx.json) {
    printJson({
      workflowId: ctx.workflowId,
      status: 'completed',
      result: { ...r, usage: { ...r.usage, costUsd: roundUsd(r.usage.costUsd) } },
      runFolder,
      webUi: ctx.link ?? null,
    });
    return;
  }
  const denied = r.deniedCalls ? ` with ${deniedCallsText(r.deniedCalls)}` : '';
  process.stdout.write(
    `${ctx.workflowId} completed${denied}: ${r.usage.agentRuns} agent runs, ${r.usage.inputTokens + r.usage.outputTokens} tokens, ${formatUsd(r.usage.costUsd)}\n` +
      `run folder: ${runFolder}\n${ctx.link ? `Web UI: ${ctx.link}\n` : ''}`,
  );
}

/** Prints a line whenever what the run does changes; on a TTY, asks for pending input. */
async function followRun(
  client: SopClient,
  handle: WorkflowHandle,
  ref: { sop: string; taskId: string },
  options: { interactive: boolean },
): Promise<unknown> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let last = '';
  let asking: string | undefined;
  const started = Date.now();
  // on a terminal a spinner line shows the run is alive between changes; it is erased before real output
  const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  let spinning = false;
  const clearSpinner = () => {
    if (spinning) process.stderr.write('\r\x1b[2K');
    spinning = false;
  };
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  const tick = async () => {
    try {
      const status = await handle.query<RunStatusView>('status');
      const line = describeStatus(status, options.interactive);
      // a rate limit's countdown alone is no news
      const news = line.replace(/ \(in \d+ s\)/g, '');
      if (news !== last) {
        last = news;
        clearSpinner();
        log(`[${elapsed()}] ${line}`);
      } else if (options.interactive && !asking && status.status === 'running') {
        process.stderr.write(
          `\r\x1b[2K${spinner[frame++ % spinner.length]} ${elapsed()} · ${line.replace(/^running: /, '')}`,
        );
        spinning = true;
      }
      const pending = status.pendingInput;
      if (options.interactive && pending && asking !== pending.requestId) {
        clearSpinner();
        asking = pending.requestId;
        void askForAnswer(client, ref, pending).finally(() => {
          asking = undefined;
        });
      }
    } catch {
      // the run may be between tasks; the next tick asks again
    }
  };
  const timer = setInterval(tick, 500);
  // what the running agents do (commands, files, tools, denials), from their heartbeats, as it happens
  const stopLive = new AbortController();
  const live = followLiveActions(
    client.client,
    () => [handle.workflowId],
    ({ action, execution }) => {
      clearSpinner();
      log(`[${elapsed()}]   ${liveLabel(execution.activity)}  ${actionText(action)}`);
    },
    stopLive.signal,
    { children: true },
  );
  // Ctrl-C ends the following, not the run (an in-process worker stops on the same signal)
  let onSigint = () => {};
  const interrupted = new Promise<never>((_, reject) => {
    onSigint = () => reject(new FollowInterrupted());
  });
  process.once('SIGINT', onSigint);
  try {
    return await Promise.race([handle.result(), interrupted]);
  } finally {
    process.removeListener('SIGINT', onSigint);
    clearInterval(timer);
    stopLive.abort();
    await live;
    clearSpinner();
  }
}

/** Asks on the terminal until an answer fits the request's schema (the run checks it synchronously). */
async function askForAnswer(
  client: SopClient,
  ref: { sop: string; taskId: string },
  pending: NonNullable<RunStatusView['pendingInput']>,
): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const approval = isApproval(pending.schema);
  try {
    for (;;) {
      const text = (
        await rl.question(
          approval
            ? 'approve? [y/N, or a reason to reject] '
            : 'answer (JSON, or text for a string answer): ',
        )
      ).trim();
      let value: unknown;
      if (approval) {
        value = /^y(es)?$/i.test(text)
          ? { approve: true }
          : { approve: false, ...(text && !/^no?$/i.test(text) ? { guidance: text } : {}) };
      } else {
        try {
          value = JSON.parse(text);
        } catch {
          value = text;
        }
      }
      try {
        await client.answer(ref.sop, ref.taskId, value, pending.requestId);
        process.stderr.write('answer accepted\n');
        return;
      } catch (err) {
        process.stderr.write(`not accepted: ${(err as Error).message}\n`);
        // a request that is no longer pending (answered elsewhere, timed out) ends the prompt
        if (/not waiting for input|no pending request/i.test((err as Error).message)) return;
      }
    }
  } finally {
    rl.close();
  }
}

function isApproval(schema: unknown): boolean {
  const props = (schema as { properties?: Record<string, { type?: string }> })?.properties;
  return props?.approve?.type === 'boolean';
}

function describeStatus(status: RunStatusView, interactive = false): string {
  const pending = status.pendingInput;
  if (pending) {
    const what = pending.kind === 'tool_approval' ? 'approval' : 'input';
    const how = pending.routes?.includes('approved')
      ? '--approve | --reject WHY'
      : "--value '<json>' (or --approve)";
    const agent = pending.agentQuestion
      ? `\n  the agent asks: ${pending.agentQuestion.question}\n  why: ${pending.agentQuestion.reason}`
      : '';
    return interactive
      ? `waiting for ${what}: ${pending.question}${agent}`
      : `waiting for ${what}: ${pending.question}${agent}\n  answer with: sop answer ${status.sop} ${status.taskId} ${how}`;
  }
  if (status.resolving) return `${status.status}: resolving the SOP on a worker`;
  const active = status.active
    .map((a) => {
      const list = Object.entries(status.worklists).find(([step]) => step === a.step)?.[1];
      const item = a.item ? `item ${a.item}${list ? ` (${list.done + 1}/${list.total})` : ''}` : undefined;
      return describeActive({ ...a, item });
    })
    .join(', ');
  const denied = status.deniedCalls ? `, ${deniedCallsText(status.deniedCalls)}` : '';
  const cost = `${status.usage.agentRuns} agent runs, ${formatUsd(status.usage.costUsd)}${denied}`;
  return `${status.status}: ${active || 'between steps'} (${cost})`;
}
