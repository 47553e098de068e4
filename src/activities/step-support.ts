// What the agent and command step activities share: the workspace check, the heartbeat interval, and the
// records of launches whose worker was lost.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { LineWritten, LostLaunch, RunRef } from '../shapes/contract';
import { executionFolder } from '../shapes/execution-folder';
import { recordExecutionOnce } from './run-summary';

// often, so a cancellation (delivered in a heartbeat reply) reaches a quiet harness within seconds
const HEARTBEAT_MS = 2_000;

/**
 * A worker of the shared queue that cannot see the run's repo.path must not work elsewhere: the run fails
 * with what to do (every worker of a repo.path run sees that path; a fleet runs repo.url runs instead).
 */
export function workspaceOnThisWorker(workspace: string): void {
  if (fs.existsSync(workspace) && fs.statSync(workspace).isDirectory()) return;
  throw ApplicationFailure.create({
    type: 'SopWorkspaceMissing',
    nonRetryable: true,
    message: `the workspace ${workspace} (repo.path) is not a directory on worker ${os.hostname()}: every worker of the task queue must see it, or start the run with repo.url`,
  });
}

/** Often enough that a live activity never misses its heartbeat timeout. */
export function heartbeatEvery(): number {
  const timeout = activityInfo().heartbeatTimeoutMs;
  return timeout ? Math.min(HEARTBEAT_MS, Math.max(200, timeout / 3)) : HEARTBEAT_MS;
}

/**
 * Launches whose worker was lost never wrote their own line: the workflow learns of them only when the
 * loss is detected, and hands them to the next launch (or to finishRun) to record.
 */
export function recordLostLaunches(run: RunRef, lost: LostLaunch[] = []): LineWritten[] {
  return lost.map((l) => {
    const item = l.item === undefined ? undefined : { id: l.item };
    // a launch handed these before may have recorded them and died before its first heartbeat
    return recordExecutionOnce(run, {
      kind: 'agent',
      path: path.join(
        'steps',
        executionFolder({ step: l.step, role: l.role, attempt: l.attempt, item }, l.execution, l.launch),
      ),
      step: l.step,
      item: l.item ?? null,
      role: l.role,
      attempt: l.attempt,
      launch: l.launch,
      provider: l.provider,
      accepted: false,
      reason: `worker lost (${l.reason}): launched again`,
      workerLost: true,
      route: null,
      usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    });
  });
}
