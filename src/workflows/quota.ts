// One quota key shared by every run of every worker (docs/quotas.md): workflow `sop-quota/<key>`, started by
// the first run that asks (signal-with-start) and running for good. A run asks with a signal (quotaAsk) and
// waits in its own workflow for the answer this workflow signals back (quotaNotice): granted, queued with its
// place in line, or refused (spend cap, `on_spend_cap: fail`). It gives the lease back with a signal
// (quotaRelease) carrying what the launch used. Waiting is fair: by priority (1 first), then first come first
// served. A holder whose run has ended without giving its lease back (terminated, timed out) is found by
// checking the holders' runs while someone waits; a launch lost with its worker is given back by its run as
// soon as the run learns of the loss (the activity's heartbeat timeout). Holders, waiters and the spend of
// the window travel through continue-as-new.
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { QuotaActivities } from '../activities/quotas';
import {
  type QuotaAsk,
  type QuotaHolderView,
  type QuotaLimits,
  type QuotaLine,
  type QuotaNotice,
  quotaAskSignal,
  quotaNoticeSignal,
  quotaReleaseSignal,
  quotaViewQuery,
  spendWindowStart,
} from '../shapes/quota';

const DEFAULT_HOLDER_CHECK_MS = 30_000;
const TOKEN_WINDOW_MS = 60_000;
const DAY_MS = 86_400_000;

interface Entry extends QuotaHolderView {
  runId: string;
  seq: number;
  /** a waiter told where it stands (its place and what held the line, as last told) */
  told?: string;
}

interface QuotaState {
  key: string;
  limits: QuotaLimits;
  holders: Entry[];
  waiters: Entry[];
  seq: number;
  /** tokens of the launches that ended in the last minute */
  tokens: Array<{ atMs: number; tokens: number }>;
  windowStartMs: number;
  spentUsd: number;
  admitted: number;
}

interface QuotaInput {
  key: string;
  /** continue-as-new: the state so far */
  state?: QuotaState;
  /** continue-as-new after this many history events (default: when the server suggests it, or 10,000) */
  maxEvents?: number;
  /** the window of `tokens_per_minute` (default 60 s; shorter only where a test starts the key's workflow) */
  tokenWindowMs?: number;
}

const { closedHolders } = proxyActivities<QuotaActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});

export async function sopQuota(input: QuotaInput): Promise<never> {
  const now = Date.now();
  const state: QuotaState = input.state ?? {
    key: input.key,
    limits: {},
    holders: [],
    waiters: [],
    seq: 0,
    tokens: [],
    windowStartMs: spendWindowStart(now),
    spentUsd: 0,
    admitted: 0,
  };
  const tokenWindowMs = input.tokenWindowMs ?? TOKEN_WINDOW_MS;
  let dirty = true;
  const sends = new Set<Promise<void>>();

  setHandler(quotaAskSignal, (ask: QuotaAsk) => {
    state.limits = ask.limits;
    const known = [...state.holders, ...state.waiters].some((e) => e.leaseId === ask.leaseId);
    if (!known) {
      state.waiters.push({
        leaseId: ask.leaseId,
        workflowId: ask.workflowId,
        runId: ask.runId,
        what: ask.what,
        priority: ask.priority,
        sinceMs: Date.now(),
        seq: ++state.seq,
      });
    }
    dirty = true;
  });
  setHandler(quotaReleaseSignal, (release) => {
    const before = state.holders.length;
    state.holders = state.holders.filter((h) => h.leaseId !== release.leaseId);
    state.waiters = state.waiters.filter((w) => w.leaseId !== release.leaseId);
    if (state.holders.length < before) {
      if (release.tokens) state.tokens.push({ atMs: Date.now(), tokens: release.tokens });
      if (release.costUsd) {
        rollWindow(state);
        state.spentUsd += release.costUsd;
      }
    }
    dirty = true;
  });
  setHandler(quotaViewQuery, () => {
    const windowStartMs = spendWindowStart(Date.now(), state.limits.windowStartUtc);
    const view = (e: Entry): QuotaHolderView => ({
      leaseId: e.leaseId,
      workflowId: e.workflowId,
      what: e.what,
      priority: e.priority,
      sinceMs: e.sinceMs,
    });
    return {
      key: state.key,
      limits: state.limits,
      holders: state.holders.map(view),
      waiters: inLine(state).map(view),
      tokensLastMinute: tokensInWindow(state, tokenWindowMs),
      spentUsd: windowStartMs === state.windowStartMs ? state.spentUsd : 0,
      windowStartMs,
      windowEndMs: windowStartMs + DAY_MS,
      admitted: state.admitted,
    };
  });

  /** signals the waiting run; a run that has ended gives its place (or lease) up */
  const tell = (entry: Entry, notice: QuotaNotice) => {
    const sent = getExternalWorkflowHandle(entry.workflowId, entry.runId)
      .signal(quotaNoticeSignal, notice)
      .catch(() => {
        state.holders = state.holders.filter((h) => h.leaseId !== entry.leaseId);
        state.waiters = state.waiters.filter((w) => w.leaseId !== entry.leaseId);
        dirty = true;
      })
      .finally(() => sends.delete(sent));
    sends.add(sent);
  };

  let nextCheckMs = Date.now() + (state.limits.holderCheckMs ?? DEFAULT_HOLDER_CHECK_MS);
  for (;;) {
    dirty = false;
    const wakeAt = admit(state, tokenWindowMs, tell);
    if (state.waiters.length > 0 && state.holders.length > 0 && Date.now() >= nextCheckMs) {
      await dropEndedHolders(state);
      nextCheckMs = Date.now() + (state.limits.holderCheckMs ?? DEFAULT_HOLDER_CHECK_MS);
      continue;
    }
    const info = workflowInfo();
    const long = info.continueAsNewSuggested || info.historyLength > (input.maxEvents ?? 10_000);
    // continue as new once every notice sent has arrived (one sent by a closed run is never delivered);
    // the line keeps moving meanwhile
    if (long && sends.size === 0) await continueAsNew<typeof sopQuota>({ ...input, state });
    const wake = () => dirty || (long && sends.size === 0);
    const checkIn = state.waiters.length > 0 && state.holders.length > 0 ? nextCheckMs : undefined;
    const deadline = Math.min(wakeAt ?? Number.POSITIVE_INFINITY, checkIn ?? Number.POSITIVE_INFINITY);
    if (deadline === Number.POSITIVE_INFINITY) await condition(wake);
    else await condition(wake, Math.max(1, deadline - Date.now()));
  }
}

/**
 * Grants every waiter the key has room for, in line order; tells the others where they stand (once per
 * change of their line) and refuses those a spend cap fails. Returns when the line may move by itself (the
 * token window or the USD window rolls on), if it can.
 */
function admit(
  state: QuotaState,
  tokenWindowMs: number,
  tell: (entry: Entry, notice: QuotaNotice) => void,
): number | undefined {
  const { key, limits } = state;
  const now = Date.now();
  rollWindow(state);
  state.tokens = state.tokens.filter((t) => t.atMs > now - tokenWindowMs);
  let wakeAt: number | undefined;
  const line = inLine(state);
  for (const waiter of line) {
    const blocked = blockedBy(state, tokenWindowMs);
    if (blocked?.refuse) {
      state.waiters = state.waiters.filter((w) => w !== waiter);
      tell(waiter, { leaseId: waiter.leaseId, key, refused: blocked.why });
      continue;
    }
    if (blocked) {
      wakeAt = blocked.until;
      break;
    }
    state.waiters = state.waiters.filter((w) => w !== waiter);
    state.holders.push({ ...waiter, sinceMs: now, told: undefined });
    state.admitted++;
    tell(waiter, { leaseId: waiter.leaseId, key, granted: true });
  }
  const blocked = blockedBy(state, tokenWindowMs);
  inLine(state).forEach((waiter, i) => {
    const where: QuotaLine = {
      inUse: state.holders.length,
      ...(limits.concurrent === undefined ? {} : { limit: limits.concurrent }),
      position: i + 1,
      ...(blocked && !blocked.full ? { blockedBy: blocked.why } : {}),
    };
    // told again when its place or what holds the line changes, once it is among the first three: each
    // telling is a signal in two histories (a place further back keeps the line it was told as it came)
    const text = JSON.stringify({ position: where.position, blockedBy: where.blockedBy });
    if (waiter.told === text) return;
    if (waiter.told !== undefined && i >= 3) return;
    waiter.told = text;
    tell(waiter, { leaseId: waiter.leaseId, key, queued: where });
  });
  return wakeAt;
}

/** Why the key admits nobody now (undefined: it admits the next in line). */
function blockedBy(
  state: QuotaState,
  tokenWindowMs: number,
): { why: string; full?: boolean; refuse?: boolean; until?: number } | undefined {
  const { limits } = state;
  if (limits.concurrent !== undefined && state.holders.length >= limits.concurrent) {
    return { why: `${state.holders.length} of ${limits.concurrent} in use`, full: true };
  }
  if (limits.usdPerDay !== undefined && state.spentUsd >= limits.usdPerDay) {
    const end = state.windowStartMs + DAY_MS;
    const clock = `${new Date(end).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    const why = `usd_per_day ${limits.usdPerDay}: $${state.spentUsd.toFixed(4)} spent since ${new Date(state.windowStartMs).toISOString().slice(0, 16).replace('T', ' ')} UTC; the next window starts ${clock}`;
    return limits.onSpendCap === 'fail' ? { why, refuse: true } : { why, until: end };
  }
  if (limits.tokensPerMinute !== undefined) {
    const used = state.tokens.reduce((sum, t) => sum + t.tokens, 0);
    if (used >= limits.tokensPerMinute) {
      const until = state.tokens[0].atMs + tokenWindowMs;
      const last = tokenWindowMs === TOKEN_WINDOW_MS ? 'minute' : `${tokenWindowMs / 1000} s`;
      return { why: `tokens_per_minute ${limits.tokensPerMinute}: ${used} used in the last ${last}`, until };
    }
  }
  return undefined;
}

/** The waiters in the order they are served: priority (1 first), then arrival. */
function inLine(state: QuotaState): Entry[] {
  return [...state.waiters].sort((a, b) => a.priority - b.priority || a.seq - b.seq);
}

function tokensInWindow(state: QuotaState, tokenWindowMs: number): number {
  const since = Date.now() - tokenWindowMs;
  return state.tokens.filter((t) => t.atMs > since).reduce((sum, t) => sum + t.tokens, 0);
}

/** A new USD window (daily at windowStartUtc): nothing spent in it yet. */
function rollWindow(state: QuotaState): void {
  const start = spendWindowStart(Date.now(), state.limits.windowStartUtc);
  if (start !== state.windowStartMs) {
    state.windowStartMs = start;
    state.spentUsd = 0;
  }
}

/** Frees the leases of runs that have ended without giving them back (terminated, timed out, reset). */
async function dropEndedHolders(state: QuotaState): Promise<void> {
  const holders = state.holders.map((h) => ({
    leaseId: h.leaseId,
    workflowId: h.workflowId,
    runId: h.runId,
  }));
  const ended = new Set(await closedHolders(holders));
  if (ended.size > 0) state.holders = state.holders.filter((h) => !ended.has(h.leaseId));
}
