// Where a session slot's harness state lives on this worker: one folder per run and slot in the state
// folder, kept between executions (Codex's CODEX_HOME, Claude's CLAUDE_CONFIG_DIR hold the session files),
// so the next execution in the slot can resume. Another worker has none of it: the slot starts fresh.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SessionTotals } from '../shapes/contract';
import { stateDir } from './state-dir';

const SESSIONS = 'sessions';

function runSessionsDir(workflowId: string): string {
  const key = createHash('sha256').update(workflowId).digest('hex').slice(0, 24);
  return path.join(stateDir(), SESSIONS, key);
}

/** The folder of one slot of one run (created), with a note saying whose it is. */
export function sessionHome(workflowId: string, slot: string): string {
  const run = runSessionsDir(workflowId);
  const slotKey = createHash('sha256').update(slot).digest('hex').slice(0, 16);
  const home = path.join(run, slotKey);
  fs.mkdirSync(home, { recursive: true });
  const note = path.join(home, 'slot.json');
  if (!fs.existsSync(note)) fs.writeFileSync(note, `${JSON.stringify({ workflowId, slot }, null, 2)}\n`);
  return home;
}

/** Removes every slot folder of a run (when it completed: nothing resumes it any more). */
export function removeRunSessions(workflowId: string): void {
  fs.rmSync(runSessionsDir(workflowId), { recursive: true, force: true });
}

/** A file under `dir` (at any depth) whose name satisfies `test`; undefined when there is none. */
export function findFile(dir: string, test: (name: string) => boolean): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const found = (fs.readdirSync(dir, { recursive: true }) as string[]).find((f) => test(path.basename(f)));
  return found === undefined ? undefined : path.join(dir, found);
}

/** What this execution used: the session's running totals now minus before it (both harnesses report totals). */
export function usageSince(now: SessionTotals, before: SessionTotals | undefined): SessionTotals {
  if (!before) return now;
  return {
    inputTokens: Math.max(0, now.inputTokens - before.inputTokens),
    cachedInputTokens: Math.max(0, now.cachedInputTokens - before.cachedInputTokens),
    outputTokens: Math.max(0, now.outputTokens - before.outputTokens),
    costUsd: Math.max(0, roundUsd(now.costUsd - before.costUsd)),
  };
}

/** Float subtraction leaves dust (0.0834 - 0.0777 = 0.005700000000000004). */
function roundUsd(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}
