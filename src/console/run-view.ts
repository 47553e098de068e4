// The view of one run that the console shows, `sop runs show` prints and `sop runs export` packs: what
// Temporal knows (description, result, status query answered by a worker), lineage, and what the run folder
// adds when the run did not complete. It sits with the console, above the activities and evidence it reads.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { answerSendersByRequest } from '../activities/answer-sender';
import { endedRunDenials } from '../activities/run-summary';
import { runHistories } from '../client/executions';
import { firstStartedEvent, originOf } from '../client/run-origin';
import type { SopClient } from '../client/sop-client';
import { parentFromMemo } from '../shapes/lineage';
import type { AnswerRecord } from '../shapes/messages';
import { addRunUsage, type RunResult, type RunUsage } from '../shapes/run';
import type { Placement } from '../shapes/workspace';
import { SopTaskId } from '../temporal/search-attributes';

/** Dollars to the micro-dollar, as every view shows them. */
export const roundUsd = (usd: number): number => Math.round(usd * 1e6) / 1e6;

/** The run folder of a run view (`<workspace>/.sop/runs/<sop>/<task>`); throws when the run keeps no workspace. */
export function runFolderOf(view: Record<string, unknown>, workspaceOverride?: string): string {
  const workspace = workspaceOverride ?? (view.workspace as string | null);
  if (!workspace) throw new Error(`the run ${view.sop}/${view.task} does not record its workspace`);
  return path.join(path.resolve(workspace), '.sop', 'runs', String(view.sop), String(view.task));
}
/** How long `runs show` waits for a worker to answer the status query (a closed run is replayed first). */
const STATUS_QUERY_TIMEOUT_MS = 10_000;

/** The run's history, every execution of it, read once however many parts of a view need it. */
export type RunHistoryReader = () => ReturnType<typeof runHistories>;

/** A reader of the run's history that reads it at most once (the first call's answer is kept). */
export function historyOnce(client: SopClient, workflowId: string): RunHistoryReader {
  let read: ReturnType<typeof runHistories> | undefined;
  return () => {
    read ??= runHistories(client.client, workflowId);
    return read;
  };
}

/**
 * What `runs show` prints and `runs export` puts in the pack's manifest. `history`: the reader to use when the
 * view needs the run's history (the console's run page shares its own, so it reads history once).
 */
export async function gatherRunView(
  client: SopClient,
  sop: string,
  task: string,
  history?: RunHistoryReader,
): Promise<Record<string, unknown>> {
  const description = await client.describe(sop, task);
  const handle = client.getHandle(sop, task);
  const temporalStatus = description.status.name;
  const workspace = (description.memo?.workspace as string | undefined) ?? null;
  // a child run of a `kind: sop` step is shown by its workflow id `<parent-id>/<step>`: it is its own SOP's run
  const called = description.type !== sop;
  const view: Record<string, unknown> = {
    sop: called ? description.type : sop,
    task: called ? (description.typedSearchAttributes.get(SopTaskId) ?? task) : task,
    ...(called ? { workflowId: description.workflowId } : {}),
    status: temporalStatus.toLowerCase(),
    started: description.startTime.toISOString(),
    closed: description.closeTime?.toISOString() ?? null,
    workspace,
    bundleHash: (description.memo?.bundleHash as string | undefined) ?? null,
    ...(description.memo?.branch
      ? { remote: description.memo.remote as string, branch: description.memo.branch as string }
      : {}),
    taskQueue: description.taskQueue,
    webUi: client.webUiLink(sop, task) ?? null,
  };
  const started = await firstStartedEvent(client.client, description.workflowId, description.runId).catch(
    () => null,
  );
  view.startedBy = originOf({
    memo: description.memo,
    parentWorkflowId: description.parentExecution?.workflowId ?? undefined,
    started,
  });
  Object.assign(view, await lineageOf(client, sop, task, description.memo));
  if (temporalStatus === 'COMPLETED') {
    const result = (await handle.result()) as RunResult;
    Object.assign(view, {
      status: 'completed',
      routesTaken: result.routesTaken,
      usage: result.usage,
      deniedCalls: result.deniedCalls,
      denials: result.denials,
      ...(result.mcpCalls ? { mcpCalls: result.mcpCalls } : {}),
      relaunches: result.relaunches,
      ...(result.answers ? { answers: result.answers } : {}),
      ...(result.reviews ? { reviews: result.reviews } : {}),
      ...(result.placement ? { placement: result.placement } : {}),
      ...(result.childUsage ? { childUsage: result.childUsage } : {}),
      ...(result.forge ? { forge: result.forge } : {}),
    });
    await fillApprovalSenders(view, history ?? historyOnce(client, description.workflowId));
    return finishView(withRunBranch(view));
  }
  if (temporalStatus === 'FAILED') {
    view.failure = await handle
      .result()
      .catch((err: Error & { cause?: Error }) => err.cause?.message ?? err.message);
  }
  // The live state of a running run, and the routes and usage of a failed or cancelled one, come from the
  // status query, which a worker answers (replaying a closed run first). Without a worker, say so at once
  // instead of letting the query time out.
  const running = temporalStatus === 'RUNNING';
  const workers = await client.workers(description.taskQueue);
  if (workers.length === 0) {
    view.noWorker = running
      ? `no worker polls task queue ${description.taskQueue}: the run cannot move on, and what it does now cannot be read`
      : `no worker polls task queue ${description.taskQueue}: the run's final state cannot be replayed`;
  } else {
    try {
      const status = await client.client.connection.withDeadline(Date.now() + STATUS_QUERY_TIMEOUT_MS, () =>
        client.status(sop, task),
      );
      Object.assign(
        view,
        status,
        running ? {} : { status: view.status, failure: view.failure ?? status.failure },
      );
    } catch (err) {
      view.noAnswer = `the workers of task queue ${description.taskQueue} did not answer the status query within ${STATUS_QUERY_TIMEOUT_MS / 1000} s: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  // a run that did not complete has no result: what the run.json it stamped when it ended says
  fillFromRunSummary(view);
  if (view.deniedCalls === undefined && view.workspace)
    Object.assign(view, endedRunDenials(runFolderOf(view), description.startTime.getTime()));
  await fillApprovalSenders(view, history ?? historyOnce(client, description.workflowId));
  return finishView(withRunBranch(view));
}

/**
 * Who answered each tool approval and when: the run keeps the decision, the caller identity of the answer is
 * in history (as an input answer's evidence record has it). Read only when there is one to fill.
 */
async function fillApprovalSenders(view: Record<string, unknown>, history: RunHistoryReader) {
  const answers = view.answers as AnswerRecord[] | undefined;
  const unnamed = answers?.filter((a) => a.kind === 'tool_approval' && !a.by) ?? [];
  if (unnamed.length === 0) return;
  const events = (await history()).flatMap((h) => h.events);
  const senders = answerSendersByRequest(events);
  view.answers = answers!.map((a) => {
    const sender = a.kind === 'tool_approval' && !a.by ? senders.get(a.requestId) : undefined;
    return sender?.by ? { ...a, by: sender.by, ...(sender.at ? { at: sender.at } : {}) } : a;
  });
}

/**
 * The run folder beside the workspace; usage of the run, its child runs and both; and for a run that has
 * ended, nothing that runs or waits now (a closed run's replayed state still lists what ran when it ended).
 */
function finishView(view: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(view)) {
    out[key] = value;
    if (key === 'workspace') out.runFolder = view.workspace ? runFolderOf(view) : null;
  }
  if (!LIVE_STATUSES.has(String(view.status))) {
    for (const live of ['active', 'pendingInput', 'pendingInputs', 'waitingIn']) delete out[live];
  }
  const usage = out.usage as RunUsage | undefined;
  const children = out.childUsage as RunUsage | undefined;
  if (usage) out.usage = roundUsage(usage);
  if (usage && children) {
    out.childUsage = roundUsage(children);
    out.totalUsage = roundUsage(addRunUsage(usage, children));
  } else delete out.childUsage;
  return out;
}

const LIVE_STATUSES = new Set(['running', 'waiting_input']);

const roundUsage = (u: RunUsage): RunUsage => ({ ...u, costUsd: roundUsd(u.costUsd) });

/** A repo.url run: its run branch, the last commit the remote holds and the worker it works (worked) on. */
function withRunBranch(view: Record<string, unknown>): Record<string, unknown> {
  const placement = view.placement as Placement | undefined;
  if (!placement) return view;
  return {
    ...view,
    workspace: placement.workspace,
    remote: placement.remote,
    branch: placement.branch,
    commit: placement.head,
    worker: { host: placement.host, queue: placement.queue, provisions: placement.provisions },
  };
}

/** What started a run: the event (null when unknown) or the `kind: sop` step (and item) it serves. */
function causeOf(run: { event?: string; step?: string; item?: string }) {
  if (run.step === undefined) return { event: run.event ?? null };
  return { step: run.step, ...(run.item !== undefined ? { item: run.item } : {}) };
}

/**
 * parent (the run whose event or `kind: sop` step started this one) and children (the runs this one's
 * events and `kind: sop` steps started).
 */
async function lineageOf(
  client: SopClient,
  sop: string,
  task: string,
  memo: Record<string, unknown> | undefined,
): Promise<Record<string, unknown>> {
  const parent = parentFromMemo(memo);
  const children = await client.children(sop, task);
  return {
    ...(parent ? { parent: { workflowId: parent.workflowId, ...causeOf(parent), depth: parent.depth } } : {}),
    ...(children.length > 0
      ? {
          children: children.map((c) => ({ workflowId: c.workflowId, ...causeOf(c), status: c.status })),
        }
      : {}),
  };
}

/**
 * A run that did not complete has no result: what it had used and the routes it took are in the run.json
 * it stamped when it ended (when the status query could not tell).
 */
function fillFromRunSummary(view: Record<string, unknown>): void {
  if (!view.workspace || view.usage !== undefined) return;
  try {
    const summary = JSON.parse(fs.readFileSync(path.join(runFolderOf(view), 'run.json'), 'utf8'));
    // stamped by this execution when it ended (a task run again shares its run folder)
    if (!(Date.parse(summary.endedAt ?? '') >= Date.parse(String(view.started))) || !summary.usage) return;
    Object.assign(view, {
      routesTaken: summary.routesTaken ?? [],
      usage: summary.usage,
      ...(summary.childUsage ? { childUsage: summary.childUsage } : {}),
      ...(summary.mcpCalls?.calls ? { mcpCalls: summary.mcpCalls } : {}),
      ...(summary.forge && !view.forge ? { forge: summary.forge } : {}),
    });
  } catch {
    // no run folder here: the view says what Temporal knows
  }
}
