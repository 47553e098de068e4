// What started a listed run, from what a visibility row holds (no history read): the memo its starter wrote,
// its Temporal parent and the Schedule that started it.
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { parentFromMemo } from '../shapes/lineage';
import { RUN_TRIGGER_MEMO_KEY, RunTriggerMemoSchema } from '../shapes/trigger-shapes';

/** Sensors run as `sop-sensor/<sop>/<trigger>` (src/triggers/sensors.ts sensorIdOf); their runs are children. */
export const SENSOR_WORKFLOW_PREFIX = 'sop-sensor/';

const TemporalScheduledById = defineSearchAttributeKey('TemporalScheduledById', SearchAttributeType.KEYWORD);

export interface RowTrigger {
  kind: 'manual' | 'schedule' | 'webhook' | 'poll' | 'event' | 'child';
  /** the hook, Schedule, sensor, event or parent */
  detail?: string;
}

export function rowTrigger(wf: WorkflowExecutionInfo): RowTrigger {
  const memo = wf.memo;
  const parent = parentFromMemo(memo);
  if (parent?.step !== undefined) return { kind: 'child', detail: parent.workflowId };
  if (parent?.event !== undefined)
    return { kind: 'event', detail: `${parent.event} from ${parent.workflowId}` };
  const tagged = RunTriggerMemoSchema.safeParse(memo?.[RUN_TRIGGER_MEMO_KEY]);
  if (tagged.success && tagged.data.kind === 'webhook') return { kind: 'webhook', detail: tagged.data.hook };
  if (tagged.success && tagged.data.kind === 'sensor') return { kind: 'poll', detail: tagged.data.trigger };
  const parentId = wf.parentExecution?.workflowId;
  if (parentId?.startsWith(SENSOR_WORKFLOW_PREFIX))
    return { kind: 'poll', detail: parentId.slice(SENSOR_WORKFLOW_PREFIX.length) };
  const scheduledBy = wf.typedSearchAttributes.get(TemporalScheduledById);
  if (scheduledBy) return { kind: 'schedule', detail: scheduledBy };
  return { kind: 'manual' };
}
