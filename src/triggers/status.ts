// What `sop triggers list|show` and `sop doctor` report: each declared trigger (and each Schedule or sensor
// left on the server without one) with its SOP, kind, state, last and next fire, and what is wrong.

import type { Client, ScheduleDescription } from '@temporalio/client';
import type { TriggerKind } from '../shapes/triggers';
import type { Catalog } from '../sop/catalog';
import { declaredTriggers } from './declared';
import {
  describeSchedule,
  projectSchedules,
  scheduleIdOf,
  scheduleOptions,
  scheduleVersion,
} from './schedules';
import { describeSensor, projectSensors, sensorConfig, sensorIdOf, sensorStatus, sensorTag } from './sensors';

export interface TriggerRow {
  /** `<sop>.<trigger>` */
  trigger: string;
  sop: string;
  kind: TriggerKind;
  /** active, paused (note), running (sensor), listening (webhook/event), not synced, not declared, ... */
  state: string;
  lastFire?: string;
  nextFire?: string;
  /** the last run it started */
  lastRun?: string;
  /** a sensor's highest watermark value seen */
  watermark?: string | number;
  /** the Schedule id or the sensor's workflow id */
  id?: string;
  /** false when the server's Schedule or sensor differs from the catalog (run `sop triggers sync`) */
  inSync: boolean;
  errors: string[];
}

/**
 * `live: false` reads only what the server holds (no sensor query, which needs a worker; no look at the
 * last run): enough to tell what is out of sync.
 */
export async function triggerRows(
  client: Client,
  catalog: Catalog,
  taskQueue: string,
  options: { live?: boolean } = {},
): Promise<TriggerRow[]> {
  const live = options.live !== false;
  const declared = declaredTriggers(catalog);
  const rows: TriggerRow[] = [];
  for (const d of declared.triggers) {
    const spec = d.spec;
    const base = {
      trigger: `${spec.sop}.${spec.name}`,
      sop: spec.sop,
      kind: spec.kind,
      errors: [] as string[],
    };
    if (spec.kind === 'schedule') {
      const made = scheduleOptions(d, taskQueue);
      const description = await describeSchedule(client, scheduleIdOf(spec.sop, spec.name));
      if (!description) {
        rows.push({
          ...base,
          id: scheduleIdOf(spec.sop, spec.name),
          state: 'not synced',
          inSync: false,
          errors: ['no Schedule on the server: run `sop triggers sync`'],
        });
        continue;
      }
      const row = scheduleRow(base, description);
      const was = scheduleVersion(description);
      if ('problem' in made) row.errors.push(made.problem);
      else if (was.specHash !== made.version.specHash || was.bundleHash !== made.version.bundleHash) {
        row.inSync = false;
        row.errors.push('the catalog changed since the last sync: run `sop triggers sync`');
      }
      if (live) row.errors.push(...(await lastRunErrors(client, row.lastRun)));
      rows.push(row);
    } else if (spec.kind === 'poll') {
      const id = sensorIdOf(spec.sop, spec.name);
      const description = await describeSensor(client, id);
      const running = description?.status.name === 'RUNNING';
      const row: TriggerRow = {
        ...base,
        id,
        state: description ? (running ? 'running' : description.status.name.toLowerCase()) : 'not synced',
        inSync: running && sensorTag(description.memo)?.configHash === sensorConfig(d).configHash,
      };
      if (!running) row.errors.push('the sensor is not running: run `sop triggers sync`');
      else {
        if (!row.inSync) row.errors.push('the catalog changed since the last sync: run `sop triggers sync`');
        const status = live ? await sensorStatus(client, id) : undefined;
        if (!status) {
          // not asked
        } else if ('problem' in status) row.errors.push(`status: ${status.problem}`);
        else {
          if (status.paused) row.state = `paused (${status.paused.note})`;
          row.lastFire = status.lastFireAt;
          row.nextFire = status.paused ? undefined : status.nextPollAt;
          row.lastRun = status.lastRun;
          if (status.watermark !== undefined) row.watermark = status.watermark;
          if (status.lastError) row.errors.push(status.lastError);
        }
      }
      rows.push(row);
    } else {
      rows.push({
        ...base,
        state: spec.kind === 'webhook' ? `POST /hooks/${spec.webhook.hook}` : `on event ${spec.event}`,
        inSync: true,
      });
    }
  }
  // left on the server without a trigger in the catalog
  const known = new Set(rows.map((r) => r.id));
  for (const { id, tag } of await projectSchedules(client, catalog.projectDir)) {
    if (known.has(id)) continue;
    rows.push({
      trigger: `${tag.sop}.${tag.trigger}`,
      sop: tag.sop,
      kind: 'schedule',
      id,
      state: 'not declared',
      inSync: false,
      errors: ['the catalog no longer declares it: `sop triggers sync` deletes it'],
    });
  }
  for (const { id, tag } of await projectSensors(client, catalog.projectDir)) {
    if (known.has(id)) continue;
    rows.push({
      trigger: `${tag.sop}.${tag.trigger}`,
      sop: tag.sop,
      kind: 'poll',
      id,
      state: 'not declared',
      inSync: false,
      errors: ['the catalog no longer declares it: `sop triggers sync` stops it'],
    });
  }
  if (declared.errors.length > 0) {
    for (const row of rows)
      row.errors.push(`the catalog has ${declared.errors.length} compile error(s): see \`sop validate\``);
  }
  return rows;
}

function scheduleRow(
  base: Pick<TriggerRow, 'trigger' | 'sop' | 'kind' | 'errors'>,
  d: ScheduleDescription,
): TriggerRow {
  const last = d.info.recentActions.at(-1);
  return {
    ...base,
    id: d.scheduleId,
    state: d.state.paused ? `paused${d.state.note ? ` (${d.state.note})` : ''}` : 'active',
    lastFire: last?.takenAt.toISOString(),
    nextFire: d.state.paused ? undefined : d.info.nextActionTimes[0]?.toISOString(),
    lastRun: last?.action.workflow.workflowId,
    inSync: true,
  };
}

/** The last run's failure, if it failed. */
async function lastRunErrors(client: Client, workflowId: string | undefined): Promise<string[]> {
  if (!workflowId) return [];
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    const status = d.status.name;
    return status === 'FAILED' || status === 'TIMED_OUT' || status === 'TERMINATED'
      ? [`the last run ${workflowId} ${status.toLowerCase().replace('_', ' ')}`]
      : [];
  } catch {
    return [];
  }
}
