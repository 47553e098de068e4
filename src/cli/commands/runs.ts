import type { Command } from 'commander';
import { SOP_STATUSES } from '../../temporal/search-attributes';
import type { RunResult } from '../../workflows/interpreter';
import { CliError, ExitCode } from '../errors';
import { printJson } from '../output';
import { runRef, withSopClient } from '../with-client';

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('list and inspect runs');

  runs
    .command('list')
    .description('runs, newest first (from Temporal visibility)')
    .option('--sop <name>', 'only runs of this SOP')
    .option('--status <status>', `only runs in this status (${SOP_STATUSES.join(', ')})`)
    .option('--limit <n>', 'at most this many rows', '50')
    .option('--json', 'machine-readable output')
    .action(async (opts: { sop?: string; status?: string; limit: string; json?: boolean }) => {
      if (opts.status && !(SOP_STATUSES as readonly string[]).includes(opts.status)) {
        throw new CliError(`--status must be one of ${SOP_STATUSES.join(', ')}`, ExitCode.usage);
      }
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new CliError('--limit must be a positive integer', ExitCode.usage);
      await withSopClient(async (client) => {
        const rows = [];
        for await (const run of client.list({ sop: opts.sop, status: opts.status })) {
          rows.push(run);
          if (rows.length >= limit) break;
        }
        if (opts.json) return printJson(rows);
        if (rows.length === 0) return void process.stdout.write('no runs\n');
        const table = rows.map((r) => [
          r.sop,
          r.taskId,
          r.status,
          r.startTime.toISOString().slice(0, 19).replace('T', ' '),
        ]);
        printTable(['SOP', 'TASK', 'STATUS', 'STARTED'], table);
      });
    });

  runs
    .command('show')
    .description('status, steps and routes taken, pending input, usage and cost of one run')
    .argument('<sop>', 'SOP name (or SOP/TASK)')
    .argument('[task]', 'task id')
    .option('--json', 'machine-readable output')
    .action(async (sopArg: string, taskArg: string | undefined, opts: { json?: boolean }) => {
      const { sop, task } = runRef(sopArg, taskArg);
      await withSopClient(async (client) => {
        const description = await client.describe(sop, task);
        const handle = client.getHandle(sop, task);
        const temporalStatus = description.status.name;
        const view: Record<string, unknown> = {
          sop,
          task,
          status: temporalStatus.toLowerCase(),
          started: description.startTime.toISOString(),
          closed: description.closeTime?.toISOString() ?? null,
          webUi: client.webUiLink(sop, task) ?? null,
        };
        if (temporalStatus === 'RUNNING') {
          Object.assign(view, await client.status(sop, task));
        } else if (temporalStatus === 'COMPLETED') {
          const result = (await handle.result()) as RunResult;
          Object.assign(view, { status: 'completed', routesTaken: result.routesTaken, usage: result.usage });
        } else if (temporalStatus === 'FAILED') {
          const failure = await handle
            .result()
            .catch((err: Error & { cause?: Error }) => err.cause?.message ?? err.message);
          Object.assign(view, { failure });
        }
        if (opts.json) return printJson(view);
        printRun(view);
      });
    });
}

function printRun(view: Record<string, unknown>): void {
  const out: string[] = [`${view.sop}/${view.task}: ${view.status}`];
  out.push(`started ${view.started}${view.closed ? `, closed ${view.closed}` : ''}`);
  const active = view.active as
    | Array<{ step: string; item?: string; role?: string; attempt?: number }>
    | undefined;
  if (active?.length) {
    out.push(
      `now: ${active.map((a) => [a.step, a.item, a.role, a.attempt && `attempt ${a.attempt}`].filter(Boolean).join(' · ')).join('; ')}`,
    );
  }
  const pending = view.pendingInput as { requestId: string; question: string } | undefined;
  if (pending)
    out.push(`waiting for input ${pending.requestId}: ${pending.question}`, '  answer with: sop answer ...');
  const routes = view.routesTaken as
    | Array<{ step: string; item?: string; route: string; target: string }>
    | undefined;
  if (routes?.length) {
    out.push('routes taken:');
    for (const r of routes) out.push(`  ${r.step}${r.item ? ` [${r.item}]` : ''}: ${r.route} → ${r.target}`);
  }
  const usage = view.usage as
    | { costUsd: number; inputTokens: number; outputTokens: number; agentRuns: number }
    | undefined;
  if (usage) {
    out.push(
      `usage: ${usage.agentRuns} agent runs, ${usage.inputTokens} in / ${usage.outputTokens} out tokens, $${usage.costUsd.toFixed(4)}`,
    );
  }
  if (view.failure) out.push(`failure: ${view.failure}`);
  if (view.webUi) out.push(`Web UI: ${view.webUi}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
}
