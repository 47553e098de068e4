// The interpreter's activity proxies: timeouts and retries of each kind of effect, and the quick file
// updates per engine (engine-version.ts).
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { InterpreterActivities } from '../../activities/interpreter-activities';
import { RATE_LIMITED } from '../../model/contract';

export const {
  loadWorklist,
  completeWorklistItem,
  loadWorklistWindow,
  completeWorklistItemWindow,
  reopenWorklistItems,
} = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});
const { finishRun } = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});
// The quick file updates: regular activities in engine 1, local ones in engine 2 (one marker event each,
// no task round trip through the server).
export const fileUpdates = {
  1: { loadWorklistWindow, completeWorklistItemWindow, reopenWorklistItems, finishRun },
  2: proxyLocalActivities<InterpreterActivities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5 },
  }),
};
export type FileUpdates = (typeof fileUpdates)[1 | 2];

export const { runCommandStep } = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '2 hours',
  retry: { maximumAttempts: 3 },
});
export const agentActivities = proxyActivities<InterpreterActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [RATE_LIMITED, 'SopConfigError'] },
});
