// Every run the tests make is also a replay test: its history (each execution of the workflow id) is
// replayed through the workflow code under test, so a nondeterminism that only shows on some machines (an
// ordering of events the recorded corpus in test/histories never had) fails the test that made the run,
// with the history saved for debugging and a compact outline of it in the message (CI prints only text).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { workflowExecutions } from '../../src/client/executions';

type History = temporal.api.history.v1.IHistory;

/** Problems found replaying every execution of `workflowId` (empty when all replay). */
export async function replayProblems(client: Client, workflowId: string): Promise<string[]> {
  const codePath = process.env.SOP_WORKFLOW_BUNDLE;
  if (!codePath) return []; // only the temporal project's global setup bundles the workflow code
  const problems: string[] = [];
  for (const runId of await workflowExecutions(client, workflowId)) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    try {
      await Worker.runReplayHistory({ workflowBundle: { codePath } }, history, workflowId);
    } catch (err) {
      const saved = save(workflowId, runId, history);
      problems.push(
        `replay of ${workflowId} run ${runId} failed: ${(err as Error).message}\n  history saved to ${saved}\n  outline: ${outline(history)}`,
      );
    }
  }
  return problems;
}

function save(workflowId: string, runId: string, history: History): string {
  const dir = path.join(os.tmpdir(), 'sop-replay-failures');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${workflowId.replace(/[^\w.-]+/g, '_')}-${runId}.json`);
  fs.writeFileSync(file, historyToJSON(history));
  return file;
}

/** `id:TYPE` per event, markers with their name or patch id: enough to see an ordering in a CI log. */
function outline(history: History): string {
  return (history.events ?? [])
    .map((e) => {
      const type = String(e.eventType ?? '')
        .replace(/^EVENT_TYPE_/, '')
        .replace(/^WORKFLOW_TASK_/, 'WFT_');
      const marker = e.markerRecordedEventAttributes;
      let what = '';
      if (marker) {
        const patch = marker.details?.['patch-data']?.payloads?.[0]?.data;
        what = patch ? `(${JSON.parse(Buffer.from(patch).toString()).id})` : `(${marker.markerName})`;
      }
      const activity = e.activityTaskScheduledEventAttributes?.activityType?.name;
      return `${e.eventId}:${type}${what}${activity ? `(${activity})` : ''}`;
    })
    .join(' ');
}
