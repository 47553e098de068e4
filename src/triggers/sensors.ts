// `poll:` triggers as sensor workflows (src/workflows/sensor.ts): the workflow id is
// `sop-sensor/<sop>/<trigger>`, its memo says which project made it and from which config.

import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { TRIGGER_MEMO_KEY, type TriggerTag } from '../model/triggers';
import { type SensorConfig, type SensorStatus, sensorTagOf } from '../workflows/sensor';
import { contentHash, type DeclaredTrigger } from './declared';

export const SENSOR_WORKFLOW = 'sopSensor';
export const sensorIdOf = (sop: string, trigger: string) => `sop-sensor/${sop}/${trigger}`;

export interface SensorTag extends TriggerTag {
  bundleHash: string;
  configHash: string;
}

export function sensorConfig(declared: DeclaredTrigger): SensorConfig {
  const body = { trigger: declared.spec, projectDir: declared.projectDir, bundleHash: declared.bundleHash };
  return { ...body, configHash: contentHash(body) };
}

export function sensorTag(memo: Record<string, unknown> | undefined): SensorTag | undefined {
  const tag = memo?.[TRIGGER_MEMO_KEY] as Partial<SensorTag> | undefined;
  return tag &&
    typeof tag.sop === 'string' &&
    typeof tag.trigger === 'string' &&
    typeof tag.project === 'string'
    ? (tag as SensorTag)
    : undefined;
}

export const sensorMemo = (config: SensorConfig) => ({ [TRIGGER_MEMO_KEY]: sensorTagOf(config) });

export async function describeSensor(
  client: Client,
  id: string,
): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(id).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The running sensors of this project (from visibility). */
export async function projectSensors(
  client: Client,
  project: string,
): Promise<Array<{ id: string; tag: SensorTag }>> {
  const out: Array<{ id: string; tag: SensorTag }> = [];
  const query = `WorkflowType = '${SENSOR_WORKFLOW}' AND ExecutionStatus = 'Running'`;
  for await (const wf of client.workflow.list({ query })) {
    const tag = sensorTag(wf.memo);
    if (tag && tag.project === project) out.push({ id: wf.workflowId, tag });
  }
  return out;
}

/** The sensor's own view (last poll, last fire, errors), or why it cannot be had within `timeoutMs`. */
export async function sensorStatus(
  client: Client,
  id: string,
  timeoutMs = 5_000,
): Promise<SensorStatus | { problem: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ problem: string }>((resolve) => {
    timer = setTimeout(
      () => resolve({ problem: 'no worker answered (start one with `sop worker`)' }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      client.workflow
        .getHandle(id)
        .query<SensorStatus>('sensorStatus')
        .catch((err: Error) => ({ problem: err.message })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
