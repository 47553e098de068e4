import type { Command } from 'commander';
import type { QuotaHolderView, QuotaView } from '../../shapes/quota';
import { formatUsd, printJson } from '../output';
import { withSopClient } from '../with-client';

export function registerQuotas(program: Command): void {
  program
    .command('quotas')
    .description('quota keys shared by every run (sop.config.yaml quotas:): limits, use, holders and waiters')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withSopClient(async (client) => {
        const views = await client.quotas();
        if (opts.json) return printJson(views);
        if (views.length === 0) {
          process.stdout.write('no quota in use yet (a key starts with the first launch that needs it)\n');
          return;
        }
        process.stdout.write(`${views.map(describeQuota).join('\n\n')}\n`);
      });
    });
}

/** One key: its limits and use, then its holders and its line. */
function describeQuota(v: QuotaView, nowMs = Date.now()): string {
  const l = v.limits;
  const limits = [
    l.concurrent !== undefined && `${v.holders.length} of ${l.concurrent} in use`,
    l.tokensPerMinute !== undefined &&
      `${v.tokensLastMinute} of ${l.tokensPerMinute} tokens in the last minute`,
    l.usdPerDay !== undefined &&
      `${formatUsd(v.spentUsd)} of ${formatUsd(l.usdPerDay)} today (window ${utc(v.windowStartMs)} – ${utc(v.windowEndMs)}, on cap: ${l.onSpendCap ?? 'wait'})`,
  ].filter(Boolean);
  const out = [`${v.key}: ${limits.join(' · ')} · ${v.admitted} admitted`];
  const line = (h: QuotaHolderView) =>
    `${h.what} (priority ${h.priority}, ${Math.max(0, Math.round((nowMs - h.sinceMs) / 1000))} s)`;
  out.push(`  holders: ${v.holders.length === 0 ? 'none' : ''}`);
  for (const h of v.holders) out.push(`    ${line(h)}`);
  out.push(`  waiting: ${v.waiters.length === 0 ? 'none' : ''}`);
  v.waiters.forEach((w, i) => {
    out.push(`    ${i + 1}. ${line(w)}`);
  });
  return out.map((s) => s.trimEnd()).join('\n');
}

const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
