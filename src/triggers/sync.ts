// `sop triggers sync`: make the server hold exactly what the catalog declares. Schedules are created,
// updated (only when the SOP's bundle or the trigger changed; a paused Schedule stays paused) or deleted
// when their trigger is gone; sensor workflows are started, given their new config (watermark kept) or
// stopped. Idempotent: a second sync changes nothing. Webhook and event triggers need nothing on the
// server (`sop serve` and the emitting runs read the catalog).

import type { Client } from '@temporalio/client';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import type { Diagnostic } from '../shapes/diagnostics';
import type { Catalog } from '../sop/catalog';
import { sensorReconfigureSignal, sopSensor } from '../workflows/sensor';
import { type DeclaredTrigger, declaredTriggers } from './declared';
import { describeSchedule, projectSchedules, scheduleOptions, scheduleVersion } from './schedules';
import { describeSensor, projectSensors, sensorConfig, sensorIdOf, sensorMemo, sensorTag } from './sensors';

type SyncAction =
  | 'created'
  | 'updated'
  | 'unchanged'
  | 'deleted'
  | 'started'
  | 'reconfigured'
  | 'stopped'
  | 'failed';

export interface SyncLine {
  /** `<sop>.<trigger>` */
  trigger: string;
  kind: 'schedule' | 'poll';
  /** the Schedule id or the sensor's workflow id */
  id: string;
  action: SyncAction;
  detail?: string;
}

export class TriggersInvalidError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(`the catalog has ${diagnostics.length} error(s); nothing was synced`);
    this.name = 'TriggersInvalidError';
  }
}

export async function syncTriggers(client: Client, catalog: Catalog, taskQueue: string): Promise<SyncLine[]> {
  const declared = declaredTriggers(catalog);
  if (declared.errors.length > 0) throw new TriggersInvalidError(declared.errors);
  const lines: SyncLine[] = [];
  const schedules = declared.triggers.filter((t) => t.spec.kind === 'schedule');
  const sensors = declared.triggers.filter((t) => t.spec.kind === 'poll');
  for (const trigger of schedules) lines.push(await syncSchedule(client, trigger, taskQueue));
  for (const trigger of sensors) lines.push(await syncSensor(client, trigger, taskQueue));

  const wanted = new Set(declared.triggers.map((t) => `${t.spec.sop}.${t.spec.name}.${t.spec.kind}`));
  for (const { id, tag } of await projectSchedules(client, catalog.projectDir)) {
    if (wanted.has(`${tag.sop}.${tag.trigger}.schedule`)) continue;
    try {
      await client.schedule.getHandle(id).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      continue; // deleted meanwhile (visibility lags)
    }
    lines.push({
      trigger: `${tag.sop}.${tag.trigger}`,
      kind: 'schedule',
      id,
      action: 'deleted',
      detail: 'trigger removed from the catalog',
    });
  }
  for (const { id, tag } of await projectSensors(client, catalog.projectDir)) {
    if (wanted.has(`${tag.sop}.${tag.trigger}.poll`)) continue;
    try {
      await client.workflow
        .getHandle(id)
        .terminate('its trigger was removed from the catalog (sop triggers sync)');
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      continue;
    }
    lines.push({
      trigger: `${tag.sop}.${tag.trigger}`,
      kind: 'poll',
      id,
      action: 'stopped',
      detail: 'trigger removed from the catalog',
    });
  }
  return lines;
}

async function syncSchedule(client: Client, trigger: DeclaredTrigger, taskQueue: string): Promise<SyncLine> {
  const label = `${trigger.spec.sop}.${trigger.spec.name}`;
  const made = scheduleOptions(trigger, taskQueue);
  const base = { trigger: label, kind: 'schedule' as const };
  if ('problem' in made) return { ...base, id: '', action: 'failed', detail: made.problem };
  const { options, version } = made;
  const line = { ...base, id: options.scheduleId };
  const existing = await describeSchedule(client, options.scheduleId);
  if (!existing) {
    try {
      await client.schedule.create(options);
      return { ...line, action: 'created' };
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      // made meanwhile by another sync: fall through to compare and update
    }
  }
  const current = existing ?? (await client.schedule.getHandle(options.scheduleId).describe());
  const was = scheduleVersion(current);
  if (was.specHash === version.specHash && was.bundleHash === version.bundleHash)
    return { ...line, action: 'unchanged' };
  const { scheduleId: _id, memo: _memo, ...update } = options;
  await client.schedule
    .getHandle(options.scheduleId)
    .update((previous) => ({ ...update, state: previous.state }));
  return {
    ...line,
    action: 'updated',
    detail: was.specHash === version.specHash ? 'the SOP changed' : 'the trigger changed',
  };
}

async function syncSensor(client: Client, trigger: DeclaredTrigger, taskQueue: string): Promise<SyncLine> {
  const config = sensorConfig(trigger);
  const id = sensorIdOf(trigger.spec.sop, trigger.spec.name);
  const line = { trigger: `${trigger.spec.sop}.${trigger.spec.name}`, kind: 'poll' as const, id };
  const existing = await describeSensor(client, id);
  const running = existing?.status.name === 'RUNNING';
  if (running && sensorTag(existing.memo)?.configHash === config.configHash)
    return { ...line, action: 'unchanged' };
  // one call either way: a running sensor gets the new config (keeping its watermark), else one starts
  await client.workflow.signalWithStart(sopSensor, {
    workflowId: id,
    taskQueue,
    args: [config],
    signal: sensorReconfigureSignal,
    signalArgs: [config],
    memo: sensorMemo(config),
    staticSummary: `sensor ${line.trigger}: polls every ${Math.round((trigger.spec.kind === 'poll' ? trigger.spec.poll.everyMs : 0) / 1000)} s`,
  });
  return running
    ? { ...line, action: 'reconfigured', detail: 'the trigger or SOP changed; the watermark is kept' }
    : {
        ...line,
        action: 'started',
        ...(existing ? { detail: `the previous sensor was ${existing.status.name.toLowerCase()}` } : {}),
      };
}
