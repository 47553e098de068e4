// Fleet-wide quotas (docs/quotas.md): what a project declares (sop.config.yaml `quotas:`), what a run sends
// the quota workflow of a key (one per key, id `sop-quota/<key>`) and what it gets back. Plain types and
// pure functions: the interpreter, the quota workflow, the client and the CLI read them alike.
import { defineQuery, defineSignal } from '@temporalio/workflow';

type SpendCapPolicy = 'wait' | 'fail';

/** The limits of one quota key; absent: no limit of that kind. */
export interface QuotaLimits {
  /** agent executions running at once, across every run and worker */
  concurrent?: number;
  /** tokens (in + out) the launches that ended in the last 60 s may have used before another one starts */
  tokensPerMinute?: number;
  /** USD the launches may spend per day (a window starting at `windowStartUtc`, UTC) */
  usdPerDay?: number;
  /** a launch that would start past the USD cap: waits for the next window (default) or fails the run */
  onSpendCap?: SpendCapPolicy;
  /** HH:MM (UTC) at which the daily USD window starts; default 00:00 */
  windowStartUtc?: string;
  /** how often a quota whose key is full checks that its holders' runs still exist (ms; default 30 s) */
  holderCheckMs?: number;
}

/** What a run asks of a key before an agent launch. */
export interface QuotaAsk {
  key: string;
  leaseId: string;
  /** the run that waits (its grant goes to this execution) */
  workflowId: string;
  runId: string;
  /** lower first: 1 highest … 5 lowest (a person's `sop run` 2, triggers and events 3) */
  priority: number;
  /** what the launch is, for `sop quotas` (step · item · role) */
  what: string;
  /** the limits as the run's project declares them (the latest ask's limits are the key's) */
  limits: QuotaLimits;
}

/** What a launch used, reported as it gives its lease back. */
interface QuotaRelease {
  leaseId: string;
  tokens?: number;
  costUsd?: number;
}

/** The quota's answer to a waiting run: granted, still in line (with the figures), or refused (spend cap). */
export type QuotaNotice =
  | { leaseId: string; key: string; granted: true }
  | { leaseId: string; key: string; queued: QuotaLine }
  | { leaseId: string; key: string; refused: string };

/** Where a waiting launch stands: `2 of 2 in use, 3rd in line`, or why the key admits nobody now. */
export interface QuotaLine {
  inUse: number;
  limit?: number;
  /** 1: next */
  position: number;
  /** the tokens-per-minute or spend limit that holds the line, with its figures */
  blockedBy?: string;
}

export interface QuotaHolderView {
  leaseId: string;
  workflowId: string;
  what: string;
  priority: number;
  sinceMs: number;
}

/** `sop quotas`: one key's limits, use, holders and waiters. */
export interface QuotaView {
  key: string;
  limits: QuotaLimits;
  holders: QuotaHolderView[];
  waiters: QuotaHolderView[];
  tokensLastMinute: number;
  spentUsd: number;
  windowStartMs: number;
  windowEndMs: number;
  admitted: number;
}

export const QUOTA_WORKFLOW_TYPE = 'sopQuota';
/** memo of a run: the quota line it waits in, for `sop runs list` (removed once granted) */
export const QUOTA_MEMO_KEY = 'waitingForQuota';
const QUOTA_ID_PREFIX = 'sop-quota/';
export const quotaWorkflowId = (key: string) => `${QUOTA_ID_PREFIX}${key}`;

export const quotaAskSignal = defineSignal<[QuotaAsk]>('quotaAsk');
export const quotaReleaseSignal = defineSignal<[QuotaRelease]>('quotaRelease');
export const quotaViewQuery = defineQuery<QuotaView>('quotaView');
/** sent by the quota workflow to the waiting run */
export const quotaNoticeSignal = defineSignal<[QuotaNotice]>('quotaNotice');

export const DEFAULT_PRIORITY = 3;
export const PERSON_PRIORITY = 2;

/**
 * The keys a launch acquires, in a fixed order (so two runs never wait for each other's second key): the
 * declared ones among `<provider>/<model>`, `<provider>`, and the label the step names.
 */
export function quotaKeysFor(
  declared: Record<string, QuotaLimits> | undefined,
  launch: { provider: string; model?: string; quota?: string },
): string[] {
  if (!declared) return [];
  const candidates = [
    launch.model ? `${launch.provider}/${launch.model}` : undefined,
    launch.provider,
    launch.quota,
  ];
  const keys = candidates.filter((k): k is string => k !== undefined && declared[k] !== undefined);
  return [...new Set(keys)].sort();
}

/** 1st, 2nd, 3rd, 4th … 11th, 12th, 13th, 21st */
function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${{ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th'}`;
}

/** `waiting for quota codex/gpt-5: 2 of 2 in use, 3rd in line` */
export function quotaWaitText(key: string, line?: QuotaLine): string {
  if (!line) return `waiting for quota ${key}`;
  const use = line.limit === undefined ? `${line.inUse} in use` : `${line.inUse} of ${line.limit} in use`;
  return `waiting for quota ${key}: ${use}, ${ordinal(line.position)} in line${line.blockedBy ? ` (${line.blockedBy})` : ''}`;
}

/** A notice as `sop logs` shows it. */
export function quotaNoticeText(notice: QuotaNotice): string {
  if ('granted' in notice) return `${notice.key} granted`;
  if ('refused' in notice) return `${notice.key} refused: ${notice.refused}`;
  return quotaWaitText(notice.key, notice.queued);
}

/** Start of the USD window that contains `nowMs` (windows start daily at HH:MM UTC). */
export function spendWindowStart(nowMs: number, windowStartUtc = '00:00'): number {
  const [h, m] = windowStartUtc.split(':').map(Number);
  const day = new Date(nowMs);
  const start = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), h, m);
  return start <= nowMs ? start : start - 86_400_000;
}
