// An agent launch's quota leases (docs/quotas.md): before the activity is scheduled the run asks the quota
// workflow of each key the launch needs (src/workflows/quota.ts) and waits, here in its own workflow, for the
// grant; while it waits, `sop runs show`, `sop runs list`, the Web UI and `sop logs -f` say where it stands.
// When the launch ends (done, failed, lost with its worker, cancelled) the leases go back with what it used.
// A launch whose project declares no quota for it asks nothing: its history is what it was.
import {
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { QuotaActivities } from '../../activities/quotas';
import type { AgentStepRequest, AgentStepResult } from '../../shapes/contract';
import { PARENT_MEMO_KEY } from '../../shapes/lineage';
import {
  DEFAULT_PRIORITY,
  PERSON_PRIORITY,
  QUOTA_MEMO_KEY,
  type QuotaAsk,
  type QuotaNotice,
  quotaAskSignal,
  quotaKeysFor,
  quotaNoticeSignal,
  quotaReleaseSignal,
  quotaWaitText,
  quotaWorkflowId,
} from '../../shapes/quota';
import { RUN_TRIGGER_MEMO_KEY } from '../../shapes/trigger-shapes';
import { activeKey, fail, type QuotaLeases, type RunContext } from './context';
import { refreshDetails } from './visibility';

// Marks the runs whose agent launches acquire quota leases (only runs whose plan declares quotas reach it).
const QUOTA_PATCH = 'fleet-quotas-v1';

const { askQuota } = proxyActivities<QuotaActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});

interface Held {
  key: string;
  leaseId: string;
}

/**
 * Runs `launch` holding a lease of every quota key it needs (none declared: just runs it); the leases go back
 * when it ends, however it ends, with the tokens and cost it reported.
 */
export async function withQuotas(
  ctx: RunContext,
  request: AgentStepRequest,
  summary: string,
  launch: () => Promise<AgentStepResult>,
): Promise<AgentStepResult> {
  const spec = request.spec;
  const keys = quotaKeysFor(ctx.plan.quotas, {
    provider: spec.provider,
    model: spec.model,
    quota: spec.quota,
  });
  if (keys.length === 0 || !patched(QUOTA_PATCH)) return launch();
  const leases = quotaLeases(ctx);
  const held: Held[] = [];
  let result: AgentStepResult | undefined;
  leases.open++;
  try {
    for (const key of keys) {
      const leaseId = `${workflowInfo().runId}/${++leases.seq}`;
      held.push({ key, leaseId });
      await acquire(ctx, leases, request, summary, key, leaseId);
    }
    result = await launch();
    return result;
  } finally {
    await release(leases, held, result);
    leases.open--;
  }
}

/**
 * A cancelled run gives its leases (and places in line) back before it ends: a signal its workflow sends
 * after it has closed is never delivered. (Those it could not give back are freed by the quota workflow.)
 */
export async function settleQuotas(ctx: RunContext): Promise<void> {
  const leases = ctx.quotaLeases;
  if (leases && leases.open > 0) await condition(() => leases.open === 0, 30_000);
}

function quotaLeases(ctx: RunContext): QuotaLeases {
  if (ctx.quotaLeases) return ctx.quotaLeases;
  const leases: QuotaLeases = { seq: 0, notices: new Map(), waiting: new Set(), open: 0 };
  ctx.quotaLeases = leases;
  setHandler(quotaNoticeSignal, (notice: QuotaNotice) => {
    if (leases.waiting.has(notice.leaseId)) {
      leases.notices.set(notice.leaseId, notice);
    } else if ('granted' in notice) {
      // granted after this run stopped waiting (cancelled as it was granted): give it straight back
      void giveBack({ key: notice.key, leaseId: notice.leaseId });
    }
  });
  return leases;
}

async function acquire(
  ctx: RunContext,
  leases: QuotaLeases,
  request: AgentStepRequest,
  summary: string,
  key: string,
  leaseId: string,
): Promise<void> {
  const info = workflowInfo();
  const ask: QuotaAsk = {
    key,
    leaseId,
    workflowId: info.workflowId,
    runId: info.runId,
    priority: priorityOf(ctx),
    what: `${info.workflowId}: ${summary}`.slice(0, 300),
    limits: ctx.plan.quotas![key],
  };
  leases.waiting.add(leaseId);
  try {
    await getExternalWorkflowHandle(quotaWorkflowId(key)).signal(quotaAskSignal, ask);
  } catch {
    // not running yet (or any more): start it with the ask
    await askQuota(ask, info.taskQueue);
  }
  const active = ctx.active.get(activeKey(request.step, request.context.item?.id, request.role));
  let shown = false;
  try {
    for (;;) {
      const seen = leases.notices.get(leaseId);
      await condition(() => leases.notices.get(leaseId) !== seen);
      const notice = leases.notices.get(leaseId)!;
      if ('granted' in notice) return;
      if ('refused' in notice) fail(`${summary}: quota ${key} refused the launch: ${notice.refused}`);
      if ('queued' in notice) {
        const text = quotaWaitText(key, notice.queued);
        if (active) active.waitingForQuota = text;
        refreshDetails(ctx);
        upsertMemo({ [QUOTA_MEMO_KEY]: text });
        shown = true;
      }
    }
  } finally {
    leases.waiting.delete(leaseId);
    leases.notices.delete(leaseId);
    if (active) delete active.waitingForQuota;
    if (shown) {
      upsertMemo({ [QUOTA_MEMO_KEY]: null });
      refreshDetails(ctx);
    }
  }
}

/** Gives every lease back (a place still in line too), even when the run is being cancelled. */
async function release(leases: QuotaLeases, held: Held[], result: AgentStepResult | undefined) {
  if (held.length === 0) return;
  const usage = result?.usage;
  await CancellationScope.nonCancellable(() =>
    Promise.all(
      held.map((h) => {
        leases.waiting.delete(h.leaseId);
        return giveBack(
          h,
          usage && { tokens: usage.inputTokens + usage.outputTokens, costUsd: usage.costUsd },
        );
      }),
    ),
  );
}

async function giveBack(h: Held, used?: { tokens: number; costUsd: number }): Promise<void> {
  try {
    await getExternalWorkflowHandle(quotaWorkflowId(h.key)).signal(quotaReleaseSignal, {
      leaseId: h.leaseId,
      ...used,
    });
  } catch {
    // the quota workflow is gone (terminated by hand): there is nothing to give back to
  }
}

/** The run request's priority; else a person's run (2) before one a trigger or another run's event started (3). */
function priorityOf(ctx: RunContext): number {
  if (ctx.input.priority !== undefined) return ctx.input.priority;
  const memo = workflowInfo().memo ?? {};
  return memo[RUN_TRIGGER_MEMO_KEY] !== undefined || memo[PARENT_MEMO_KEY] !== undefined
    ? DEFAULT_PRIORITY
    : PERSON_PRIORITY;
}
