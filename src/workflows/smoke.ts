import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../activities/smoke';
import { SopStatus } from '../temporal/search-attributes';

const { smokeEcho } = proxyActivities<typeof activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
  summary: 'smoke · echo',
});

interface SmokeResult {
  echoed: string;
  workerPid: number;
  workflowType: string;
}

/** Proves the whole path (client → server → worker → activity → result → visibility) with no agent. */
export async function smokeWorkflow(message: string): Promise<SmokeResult> {
  const { echoed, workerPid } = await smokeEcho(message);
  upsertSearchAttributes([{ key: SopStatus, value: 'completed' }]);
  return { echoed, workerPid, workflowType: workflowInfo().workflowType };
}
