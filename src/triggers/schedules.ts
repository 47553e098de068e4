// `schedule:` triggers as Temporal Schedules. Each Schedule's id is `<sop>/<trigger>`; its action starts
// the SOP's workflow with the trigger's run request and the workflow id `<sop>/<trigger>`, to which the
// server appends the nominal fire time (`-2026-12-01T14:35:05Z`, RFC 3339 UTC), so every scheduled run is
// a normal run `<sop>/<trigger>-<time>`. The Schedule's memo says which project made it (fixed once
// created); the action's memo carries the SOP's bundle hash and the hash of the options, which `sync`
// compares to update only what changed.

import type { Client, ScheduleDescription, ScheduleOptions, ScheduleOverlapPolicy } from '@temporalio/client';
import { ScheduleNotFoundError } from '@temporalio/client';
import { triggerRunRequest } from '../shapes/trigger-request';
import {
  type ScheduleVersion,
  ScheduleVersionSchema,
  type TriggerTag,
  TriggerTagSchema,
} from '../shapes/trigger-shapes';
import { TRIGGER_MEMO_KEY } from '../shapes/triggers';
import { SopName } from '../temporal/search-attributes';
import { contentHash, type DeclaredTrigger } from './declared';

export type ScheduleTag = TriggerTag;
export type { ScheduleVersion };

export const scheduleIdOf = (sop: string, trigger: string) => `${sop}/${trigger}`;

/** How long after a missed fire time (server down) the run is still started. */
const CATCHUP_WINDOW = '10 minutes';

/** The Schedule a declared schedule trigger should be, or why it cannot be made. */
export function scheduleOptions(
  declared: DeclaredTrigger,
  taskQueue: string,
): { options: ScheduleOptions; version: ScheduleVersion } | { problem: string } {
  const { spec } = declared;
  if (spec.kind !== 'schedule') throw new Error(`${spec.sop}.${spec.name} is not a schedule trigger`);
  const made = triggerRunRequest(
    spec,
    { payload: {}, schedule: { name: spec.name, sop: spec.sop } },
    { projectDir: declared.projectDir },
  );
  if ('problem' in made) return { problem: made.problem };
  const request = made.request;
  const s = spec.schedule;
  const body = {
    spec: {
      ...(s.everyMs !== undefined ? { intervals: [{ every: s.everyMs }] } : {}),
      ...(s.cron.length > 0 ? { cronExpressions: s.cron } : {}),
      ...(s.timezone ? { timezone: s.timezone } : {}),
      ...(s.jitterMs !== undefined ? { jitter: s.jitterMs } : {}),
    },
    policies: {
      overlap: s.overlap.toUpperCase() as ScheduleOverlapPolicy,
      catchupWindow: CATCHUP_WINDOW,
      pauseOnFailure: false,
    },
    action: {
      type: 'startWorkflow' as const,
      workflowType: spec.sop,
      workflowId: scheduleIdOf(spec.sop, spec.name),
      taskQueue,
      args: [request],
      staticSummary:
        `${spec.sop}: ${request.request ?? String(request.input.request ?? spec.name)} (schedule ${spec.name})`.slice(
          0,
          200,
        ),
      typedSearchAttributes: [{ key: SopName, value: spec.sop }],
    },
  };
  const version = { bundleHash: declared.bundleHash, specHash: contentHash(body) };
  const tag: ScheduleTag = { sop: spec.sop, trigger: spec.name, project: declared.projectDir };
  return {
    version,
    options: {
      scheduleId: scheduleIdOf(spec.sop, spec.name),
      ...body,
      action: {
        ...body.action,
        memo: {
          workspace: request.repo.path ?? request.repo.url,
          [TRIGGER_MEMO_KEY]: { ...tag, ...version },
        },
      },
      memo: { [TRIGGER_MEMO_KEY]: tag },
    },
  };
}

/** The tag of a Schedule `sync` made (undefined: not ours). */
function scheduleTag(memo: Record<string, unknown> | undefined): ScheduleTag | undefined {
  const parsed = TriggerTagSchema.safeParse(memo?.[TRIGGER_MEMO_KEY]);
  return parsed.success ? parsed.data : undefined;
}

/** The version the Schedule's action was made from (empty: not made by `sync`, or changed by hand). */
export function scheduleVersion(description: ScheduleDescription): Partial<ScheduleVersion> {
  const parsed = ScheduleVersionSchema.safeParse(description.action.memo?.[TRIGGER_MEMO_KEY]);
  return parsed.success ? parsed.data : {};
}

export async function describeSchedule(client: Client, id: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/** The Schedules of this project that `sync` made (from visibility: a just-made one may show a moment later). */
export async function projectSchedules(
  client: Client,
  project: string,
): Promise<Array<{ id: string; tag: ScheduleTag }>> {
  const out: Array<{ id: string; tag: ScheduleTag }> = [];
  for await (const summary of client.schedule.list()) {
    const tag = scheduleTag(summary.memo);
    if (tag && tag.project === project) out.push({ id: summary.scheduleId, tag });
  }
  return out;
}
