// `poll:` triggers as sensor workflows (src/workflows/sensor.ts): the workflow id is
// `sop-sensor/<sop>/<trigger>`, its memo says which project made it and from which config.

import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { type SensorPause, type SensorTag, SensorTagSchema } from '../shapes/trigger-shapes';
import { TRIGGER_MEMO_KEY } from '../shapes/triggers';
import { type SensorConfig, type SensorStatus, sensorPauseSignal, sensorTagOf } from '../workflows/sensor';
import { contentHash, type DeclaredTrigger } from './declared';

const SENSOR_WORKFLOW = 'sopSensor';
export const sensorIdOf = (sop: string, trigger: string) => `sop-sensor/${sop}/${trigger}`;

export type { SensorTag };

export function sensorConfig(declared: DeclaredTrigger): SensorConfig {
  const { spec } = declared;
  if (spec.kind !== 'poll') throw new Error(`${spec.sop}.${spec.name} is not a poll trigger`);
  const body = { trigger: spec, projectDir: declared.projectDir, bundleHash: declared.bundleHash };
  return { ...body, configHash: contentHash(body) };
}

/** The tag of a sensor `sync` started (undefined: not ours, or a memo that is not a sensor tag). */
export function sensorTag(memo: Record<string, unknown> | undefined): SensorTag | undefined {
  const parsed = SensorTagSchema.safeParse(memo?.[TRIGGER_MEMO_KEY]);
  return parsed.success ? parsed.data : undefined;
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

/**
 * Pause or unpause a running sensor (the `sensorPause` signal), then wait until its status shows it:
 * `taken`, or why that could not be seen (no worker answered: the signal is recorded and takes effect when
 * one runs the sensor; or the sensor did not take it).
 */
export async function setSensorPaused(
  client: Client,
  id: string,
  pause: SensorPause,
  waitMs = 15_000,
): Promise<{ taken: true } | { taken: false; noWorker: boolean; why: string }> {
  await client.workflow.getHandle(id).signal(sensorPauseSignal, pause);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const status = await sensorStatus(client, id);
    if ('problem' in status) return { taken: false, noWorker: true, why: status.problem };
    if (Boolean(status.paused) === pause.paused) return { taken: true };
    if (Date.now() > deadline)
      return {
        taken: false,
        noWorker: false,
        why: `the sensor did not take the signal within ${waitMs / 1000} s (its worker's log says why)`,
      };
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
