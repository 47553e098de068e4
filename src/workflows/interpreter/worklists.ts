// Worklist steps (for_each): items read from the worklist file in bounded windows, run one at a time or
// concurrently, each marked done as it advances; continue-as-new between items of a long list.
import { condition, workflowInfo } from '@temporalio/workflow';
import type { WorkItem, WorklistWindow } from '../../shapes/contract';
import type { RouteTarget, StepSpec } from '../../shapes/execution-plan';
import { completeWorklistItem, loadWorklist } from './activities';
import { runAccepted } from './commits';
import type { RunContext } from './context';
import { deliverAgentRequests } from './deliveries';
import { takeRoute } from './emits';
import { runStep } from './steps';

const WORKLIST_WINDOW_PATCH = 'worklist-window-v1';
const DEFAULT_CONTINUE_AS_NEW_AFTER = 8_000;

/** The worklist activities' request for the worklist of `step`. */
export function worklistRequestOf(ctx: RunContext, step: StepSpec) {
  const { plan, run } = ctx;
  const spec = plan.worklists.find((w) => w.name === step.forEach!.worklist)!;
  const from = plan.artifacts.find((a) => a.name === spec.from)!;
  return {
    run,
    worklist: { from, collection: spec.collection, id: spec.id, title: spec.title, status: spec.status },
  };
}

export async function runWorklistStep(ctx: RunContext, step: StepSpec): Promise<RouteTarget> {
  const { files, state } = ctx;
  const worklistRequest = worklistRequestOf(ctx, step);
  const advance = step.routes.find((r) => r.target.kind === 'advance')?.target;
  let exhausted: RouteTarget = advance?.kind === 'advance' ? advance.exhausted : { kind: 'finish' };
  const inFlight = new Set<string>();
  const limit = Math.max(16, 2 * step.forEach!.concurrency);
  // Runs started before this patch read and wrote the whole item list on every item, which made history
  // grow with the square of the list; they keep doing so until they finish.
  const windowed = ctx.isPatched(WORKLIST_WINDOW_PATCH);
  const fromList = (list: WorkItem[]): WorklistWindow => ({
    pending: list.filter((i) => i.status !== 'done'),
    done: list.filter((i) => i.status === 'done').length,
    total: list.length,
  });
  const readItems = async () =>
    windowed
      ? files.loadWorklistWindow({ ...worklistRequest, exclude: [...inFlight], limit })
      : fromList(await loadWorklist(worklistRequest));
  const completeItem = async (itemId: string) =>
    windowed
      ? files.completeWorklistItemWindow({
          ...worklistRequest,
          itemId,
          status: 'done',
          exclude: [...inFlight].filter((id) => id !== itemId),
          limit,
        })
      : fromList(await completeWorklistItem({ ...worklistRequest, itemId, status: 'done' }));

  let items = await readItems();
  let leave: RouteTarget | undefined;
  let writing = Promise.resolve();
  const track = () => {
    state.worklists[step.name] = { done: items.done, total: items.total };
  };

  const nextPending = () => items.pending.find((i) => !inFlight.has(i.id));
  const runItem = async (item: WorkItem) => {
    inFlight.add(item.id);
    try {
      // a repo.url run commits the item with its status in the worklist file, then takes its route (once)
      const fleet = ctx.fleet !== undefined;
      const end = await runAccepted(ctx, { step: step.name, item: item.id }, async () => {
        const end = await runStep(ctx, step, item);
        if (!fleet) takeRoute(ctx, step.name, end.route, end.target, item.id, end.payload);
        if (end.target.kind === 'advance') {
          // one status write at a time: the worklist file is shared by concurrent items
          const write = writing.then(async () => {
            items = await completeItem(item.id);
            track();
          });
          writing = write.catch(() => undefined);
          await write;
        }
        return end;
      });
      if (fleet) takeRoute(ctx, step.name, end.route, end.target, item.id, end.payload);
      // what the item's agent asked the runtime to deliver (runs without deliveries never get here)
      if (ctx.deliver) await deliverAgentRequests(ctx, step.name, item.id, end.payload);
      if (end.target.kind === 'advance') exhausted = end.target.exhausted;
      else leave ??= end.target;
    } finally {
      inFlight.delete(item.id);
    }
  };

  const concurrency = Math.max(1, step.forEach!.concurrency);
  track();
  for (;;) {
    if (leave) break;
    const item = nextPending();
    if (!item) {
      if (inFlight.size === 0) break;
      await condition(() => inFlight.size === 0 || nextPending() !== undefined || leave !== undefined);
      continue;
    }
    if (inFlight.size >= concurrency) {
      await condition(() => inFlight.size < concurrency);
      continue;
    }
    if (concurrency === 1) {
      await runItem(item);
      if (shouldContinueAsNew(ctx)) {
        ctx.continueAt = step.name;
        return { kind: 'finish' };
      }
    } else {
      void runItem(item).catch((err) => {
        leave ??= { kind: 'fail', reason: err instanceof Error ? err.message : String(err) };
      });
    }
  }
  await condition(() => inFlight.size === 0);
  return leave ?? exhausted;
}

/** Between items: history is long (or the server suggests it) and no other thread runs. */
function shouldContinueAsNew(ctx: RunContext): boolean {
  if (ctx.activeThreads > 1) return false;
  const info = workflowInfo();
  const limit = ctx.input.options?.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER;
  return info.continueAsNewSuggested || info.historyLength >= limit;
}
