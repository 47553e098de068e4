// `sop triggers trigger-now`: a schedule trigger's Schedule starts one run now (the run it started is read
// back from the Schedule, which appends the fire time to the workflow id); a poll trigger's sensor polls
// once now (the sensorPollNow update answers with the runs that poll started).

import type { Client, ScheduleOverlapPolicy } from '@temporalio/client';
import { liveWorkers } from '../client/workers';
import { type SensorPollResult, sensorPollNowUpdate } from '../workflows/sensor';

export type ScheduleFired = { started: string } | { skipped: string } | { unknown: string };

/**
 * Triggers the Schedule `id` (throws ScheduleNotFoundError when there is none) and waits up to `waitMs`
 * for the action it took: the workflow id of the run it started, or that the overlap policy skipped it.
 */
export async function fireScheduleNow(
  client: Client,
  id: string,
  overlap: ScheduleOverlapPolicy,
  waitMs = 15_000,
): Promise<ScheduleFired> {
  const handle = client.schedule.getHandle(id);
  const before = await handle.describe();
  const seen = new Set(before.info.recentActions.map((a) => a.action.workflow.firstExecutionRunId));
  await handle.trigger(overlap);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const now = await handle.describe();
    const taken = now.info.recentActions
      .filter((a) => !seen.has(a.action.workflow.firstExecutionRunId))
      .sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime())[0];
    if (taken) return { started: taken.action.workflow.workflowId };
    if (now.info.numActionsSkippedOverlap > before.info.numActionsSkippedOverlap)
      return {
        skipped: `the Schedule skipped it: a run it started is still going (overlap ${String(overlap).toLowerCase()}; \`--overlap allow_all\` starts one anyway)`,
      };
    if (Date.now() > deadline)
      return {
        unknown: `the Schedule took the trigger but showed no new run within ${waitMs / 1000} s (\`sop triggers show\` lists its fires)`,
      };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Makes the running sensor `id` poll once now, paused or not, and waits (up to `waitMs`) for that poll's
 * result. Without a worker on the sensor's task queue nothing can poll: says so instead of waiting.
 */
export async function pollSensorNow(
  client: Client,
  id: string,
  where: { namespace: string; taskQueue: string },
  waitMs = 120_000,
): Promise<SensorPollResult | { problem: string }> {
  if ((await liveWorkers(client, where.namespace, where.taskQueue)).length === 0)
    return {
      problem: `no worker polls task queue ${where.taskQueue}, so the sensor cannot poll; start one: sop worker --task-queue ${where.taskQueue}`,
    };
  try {
    return await client.connection.withDeadline(Date.now() + waitMs, () =>
      client.workflow.getHandle(id).executeUpdate(sensorPollNowUpdate),
    );
  } catch (err) {
    const message = (err as Error).message;
    if (/deadline/i.test(message))
      return {
        problem: `the sensor did not answer within ${waitMs / 1000} s (the poll may still be under way; \`sop triggers show\` shows its last poll)`,
      };
    return { problem: message.split('\n')[0] };
  }
}
