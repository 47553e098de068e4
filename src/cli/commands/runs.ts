import * as path from 'node:path';
import type { Command } from 'commander';
import { workflowIdOf } from '../../client';
import { describeOrigin, type RunOrigin } from '../../client/run-origin';
import { gatherRunView } from '../../console/run-view';
import { readHistoryEvidence } from '../../evidence/history';
import { exportPack } from '../../evidence/pack';
import { KeyFileError, loadPrivateKey } from '../../evidence/signing';
import type { ForgeRunState } from '../../shapes/deliveries';
import { deniedCallsText, describeDenial } from '../../shapes/denial-text';
import { parentCause } from '../../shapes/lineage';
import type { McpCallCount } from '../../shapes/mcp-call';
import type { WaitingIn } from '../../shapes/message-args';
import type { ActiveRole, AnswerRecord, PendingInput } from '../../shapes/messages';
import type { DeniedCall, Relaunches, RunUsage } from '../../shapes/run';
import { SOP_STATUSES } from '../../temporal/search-attributes';
import { CliError, ExitCode } from '../errors';
import { describeActive, formatUsd, printJson, printTable } from '../output';
import { paint, paintStatus } from '../style';
import { runRef, withSopClient } from '../with-client';
import { registerRunsWatch } from './runs-watch';

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('list and inspect runs');

  runs
    .command('list')
    .description('runs, newest first (from Temporal visibility)')
    .option('--sop <name>', 'only runs of this SOP')
    .option('--status <status>', `only runs in this status (${SOP_STATUSES.join(', ')})`)
    .option('--all', 'also the runs of `sop test` and the child runs of `kind: sop` steps')
    .option('--limit <n>', 'at most this many rows', '50')
    .option('--json', 'machine-readable output')
    .action(async (opts: { sop?: string; status?: string; all?: boolean; limit: string; json?: boolean }) => {
      if (opts.status && !(SOP_STATUSES as readonly string[]).includes(opts.status)) {
        throw new CliError(`--status must be one of ${SOP_STATUSES.join(', ')}`, ExitCode.usage);
      }
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new CliError('--limit must be a positive integer', ExitCode.usage);
      await withSopClient(async (client) => {
        const rows = [];
        for await (const run of client.list({ sop: opts.sop, status: opts.status, all: opts.all })) {
          rows.push(run);
          if (rows.length >= limit) break;
        }
        if (opts.json) return printJson(rows);
        if (rows.length === 0) return void process.stdout.write('no runs\n');
        const table = rows.map((r) => [
          r.sop,
          `${r.taskId}${r.kind ? ` (${r.kind === 'test' ? 'sop test' : 'child run'})` : ''}`,
          `${r.status}${r.waitingIn ? ` (in child ${r.waitingIn})` : ''}${r.waitingForQuota ? ` (${r.waitingForQuota})` : ''}`,
          r.startTime.toISOString().slice(0, 19).replace('T', ' '),
        ]);
        printTable(['SOP', 'TASK', 'STATUS', 'STARTED'], table, (text, column) =>
          column === 2 ? paintStatus(text) : text,
        );
      });
    });

  registerExport(runs);
  registerRunsWatch(runs);

  runs
    .command('show')
    .description('status, steps and routes taken, pending input, usage and cost of one run')
    .argument('<sop>', 'SOP name (or SOP/TASK)')
    .argument('[task]', 'task id')
    .option('--json', 'machine-readable output')
    .action(async (sopArg: string, taskArg: string | undefined, opts: { json?: boolean }) => {
      const given = runRef(sopArg, taskArg);
      await withSopClient(async (client) => {
        const { sop, task } = await client.locate(given.sop, given.task);
        const view = await gatherRunView(client, sop, task);
        if (opts.json) return printJson(view);
        printRun(view);
      });
    });
}

function registerExport(runs: Command): void {
  runs
    .command('export')
    .description('write a tamper-evident evidence pack (tar.gz) of one run')
    .argument('<sop>', 'SOP name (or SOP/TASK)')
    .argument('[task]', 'task id')
    .requiredOption('-o, --output <file>', 'where to write the pack, e.g. pack.tar.gz')
    .option('--workspace <dir>', 'the workspace of the run (default: the one the run recorded)')
    .option(
      '--sign <key.pem>',
      'sign the chain head and manifest with this Ed25519 private key (sop keys generate)',
    )
    .action(
      async (
        sopArg: string,
        taskArg: string | undefined,
        opts: { output: string; workspace?: string; sign?: string },
      ) => {
        const { sop, task } = runRef(sopArg, taskArg);
        let signingKey: ReturnType<typeof loadPrivateKey> | undefined;
        try {
          signingKey = opts.sign ? loadPrivateKey(opts.sign) : undefined;
        } catch (err) {
          if (err instanceof KeyFileError) throw new CliError(err.message, ExitCode.usage);
          throw err;
        }
        await withSopClient(async (client) => {
          const view = await gatherRunView(client, sop, task);
          const history = await readHistoryEvidence(client.client, workflowIdOf(sop, task));
          const manifest = await exportPack({
            runFolder: runFolderOf(view, opts.workspace),
            sop,
            task,
            run: view,
            output: opts.output,
            runtimeWritten: [...history.runtimeWritten],
            signingKey,
          });
          process.stdout.write(
            `wrote ${opts.output}: ${manifest.files.length} files, ${manifest.chain.length} evidence records, chain head ${manifest.head.slice(0, 16)}${manifest.signature ? `, signed by key ${manifest.signature.keySha256.slice(0, 16)}…` : ''}\n`,
          );
        });
      },
    );
}

function runFolderOf(view: Record<string, unknown>, workspaceOverride?: string): string {
  const workspace = workspaceOverride ?? (view.workspace as string | null);
  if (!workspace) {
    throw new CliError(
      `the run ${view.sop}/${view.task} does not record its workspace`,
      ExitCode.usage,
      'pass --workspace DIR',
    );
  }
  return path.join(path.resolve(workspace), '.sop', 'runs', String(view.sop), String(view.task));
}

/** A pending request: the question (or the tool call waiting for approval) and how to answer it. */
function describePending(pending: PendingInput, run: string): string[] {
  if (pending.kind === 'tool_approval' && pending.tool) {
    const who = [
      pending.step,
      pending.item,
      pending.tool.role,
      pending.tool.attempt && `attempt ${pending.tool.attempt}`,
    ]
      .filter(Boolean)
      .join(' · ');
    return [
      `waiting for approval ${pending.requestId}: ${pending.tool.name} ${JSON.stringify(pending.tool.input)} (${who})`,
      `  answer with: sop answer ${run} --approve | --reject WHY${pending.requestId ? ` --request ${pending.requestId}` : ''}`,
    ];
  }
  const how = pending.routes?.includes('approved')
    ? '--approve | --reject WHY'
    : `--value '<json>'${pending.routes?.length ? ` (routes: ${pending.routes.join(', ')})` : ''}`;
  const agent = pending.agentQuestion;
  return [
    `waiting for input ${pending.requestId}: ${pending.question}`,
    ...(agent
      ? [
          `  the agent asks: ${agent.question}`,
          `  why: ${agent.reason}`,
          ...(agent.answerSchema
            ? [`  answer fields the agent asks for: ${JSON.stringify(agent.answerSchema)}`]
            : []),
        ]
      : []),
    `  answer with: sop answer ${run} ${how}`,
  ];
}

function printRun(view: Record<string, unknown>): void {
  const waitingIn = view.waitingIn as WaitingIn | undefined;
  const status = `${view.status}${waitingIn ? ` (in child ${waitingIn.workflowId})` : ''}`;
  const out: string[] = [`${view.sop}/${view.task}: ${paintStatus(status)}`];
  out.push(`started ${view.started}${view.closed ? `, closed ${view.closed}` : ''}`);
  if (view.startedBy) out.push(`started by ${describeOrigin(view.startedBy as RunOrigin)}`);
  if (view.workflowId) out.push(`workflow id ${view.workflowId}`);
  if (view.runFolder) out.push(`run folder ${view.runFolder}`);
  type Cause = { workflowId: string; event?: string | null; step?: string; item?: string };
  const cause = (c: Cause) =>
    c.step || c.event ? ` (${parentCause({ ...c, event: c.event ?? undefined })})` : '';
  const parent = view.parent as Cause | undefined;
  if (parent) out.push(`parent: ${parent.workflowId}${cause(parent)}`);
  const children = view.children as Array<Cause & { status: string }> | undefined;
  if (children?.length) {
    out.push('children:');
    for (const c of children) out.push(`  ${c.workflowId}${cause(c)}: ${c.status}`);
  }
  if (view.noWorker) {
    out.push(
      `${paint('yellow', 'no worker')}: ${view.noWorker}`,
      `  start one that polls it, in the project and on the same Temporal: sop worker --task-queue ${view.taskQueue}`,
    );
  }
  if (view.noAnswer) out.push(`${paint('yellow', 'no answer')}: ${view.noAnswer}`);
  if (view.branch) {
    const worker = view.worker as { host: string; queue: string; provisions: number } | undefined;
    out.push(
      `branch ${view.branch}${view.commit ? ` at ${String(view.commit).slice(0, 12)}` : ''} on ${view.remote}`,
    );
    if (worker) {
      const moved = worker.provisions > 1 ? `, moved ${worker.provisions - 1} time(s)` : '';
      out.push(`worker ${worker.host} (queue ${worker.queue}${moved})`);
    }
  }
  const active = view.active as ActiveRole[] | undefined;
  if (active?.length) out.push(`now: ${active.map((a) => describeActive(a)).join('; ')}`);
  const pendings = (view.pendingInputs ?? (view.pendingInput ? [view.pendingInput] : [])) as PendingInput[];
  for (const pending of pendings) out.push(...describePending(pending, `${view.sop} ${view.task}`));
  if (waitingIn) {
    out.push(
      `waiting for input in child run ${waitingIn.workflowId} (${waitingIn.sop} ${waitingIn.task})`,
      `  see it with: sop runs show ${waitingIn.workflowId}; answer with: sop answer ${waitingIn.workflowId} --value JSON | --approve | --reject WHY`,
    );
  }
  const routes = view.routesTaken as
    | Array<{ step: string; item?: string; route: string; target: string }>
    | undefined;
  if (routes?.length) {
    out.push('routes taken:');
    for (const r of routes) out.push(`  ${r.step}${r.item ? ` [${r.item}]` : ''}: ${r.route} → ${r.target}`);
  }
  for (const line of relaunchLines(view.relaunches as Record<string, Relaunches> | undefined)) out.push(line);
  const answers = view.answers as AnswerRecord[] | undefined;
  if (answers?.length) {
    out.push('answers:');
    for (const a of answers) {
      const where = `${a.step}${a.item ? ` [${a.item}]` : ''}`;
      const route = a.route ? ` → ${a.route}${a.target ? ` → ${a.target}` : ''}` : '';
      out.push(
        `  ${where}${route}: ${JSON.stringify(a.value)}${a.by ? ` by ${a.by}` : ''}${a.at ? ` at ${a.at}` : ''}`,
      );
    }
  }
  out.push(...usageLines(view));
  const denied = view.deniedCalls as number | undefined;
  if (denied !== undefined) {
    const listed = (view.denials as DeniedCall[] | undefined) ?? [];
    out.push(denied === 0 ? 'denied tool calls: none' : `${deniedCallsText(denied)}:`);
    for (const d of listed)
      out.push(`  ${[d.step, d.item, d.role].filter(Boolean).join(' · ')}: ${describeDenial(d)}`);
    if (denied > listed.length)
      out.push(`  … ${denied - listed.length} more (executions.jsonl in the run folder lists every one)`);
  }
  const mcp = view.mcpCalls as McpCallCount | undefined;
  if (mcp?.calls)
    out.push(
      `MCP tool calls: ${mcp.calls}${mcp.denied ? ` (${mcp.denied} denied)` : ''}; each in executions.jsonl`,
    );
  out.push(...forgeLines(view.forge as ForgeRunState | undefined));
  if (view.failure) out.push(`failure: ${view.failure}`);
  if (view.webUi) out.push(`Web UI: ${view.webUi}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** A run with deliveries: its pull request, what was written to the forge, the agent requests refused. */
function forgeLines(forge: ForgeRunState | undefined): string[] {
  if (!forge) return [];
  const out: string[] = [];
  if (forge.pullRequest)
    out.push(`pull request: ${forge.pullRequest.repo}#${forge.pullRequest.number} ${forge.pullRequest.url}`);
  if (forge.rateLimitedUntilMs)
    out.push(`parked: the forge rate-limits until ${new Date(forge.rateLimitedUntilMs).toISOString()}`);
  if (forge.deliveries.length > 0) out.push('deliveries:');
  for (const d of forge.deliveries)
    out.push(
      `  ${d.name} (${d.at}): ${d.action}${d.target ? ` ${d.target}` : ''}${d.error ? `: ${d.error}` : ''}`,
    );
  if (forge.refused.length > 0) out.push(`refused agent requests: ${forge.refused.length}`);
  for (const r of forge.refused)
    out.push(`  ${r.step}${r.item ? ` [${r.item}]` : ''} asked for ${r.kind} "${r.value}": ${r.reason}`);
  return out;
}

/** usage: this run's; with child runs, theirs and the total on lines of their own. */
function usageLines(view: Record<string, unknown>): string[] {
  const usage = view.usage as RunUsage | undefined;
  if (!usage) return [];
  const text = (u: RunUsage) =>
    `${u.agentRuns} agent runs, ${u.inputTokens} in / ${u.outputTokens} out tokens, ${formatUsd(u.costUsd)}`;
  const children = view.childUsage as RunUsage | undefined;
  const total = view.totalUsage as RunUsage | undefined;
  if (!children || !total) return [`usage: ${text(usage)}`];
  return [`usage: ${text(total)} in all`, `  this run: ${text(usage)}`, `  child runs: ${text(children)}`];
}

/** "step s1: 3 worker losses, retrying": launches that did not report back or failed, per step (and item). */
function relaunchLines(relaunches: Record<string, Relaunches> | undefined): string[] {
  return Object.entries(relaunches ?? {}).map(([key, r]) => {
    const parts = [
      r.workerLosses && `${r.workerLosses} worker loss${r.workerLosses === 1 ? '' : 'es'}`,
      r.launchFailures && `${r.launchFailures} failed launch${r.launchFailures === 1 ? '' : 'es'}`,
    ].filter(Boolean);
    return `step ${key}: ${parts.join(', ')}${r.retrying ? ', retrying' : ''}`;
  });
}
