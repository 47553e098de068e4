// A polling sensor (`triggers: { NAME: { poll: ... } }`): one long-running workflow per declared sensor,
// started by `sop triggers sync`. Every interval it runs the poll as an activity, keeps the watermark
// (the ids it has seen, or the highest watermark value) in workflow state, and starts one run per new item
// as an abandoned child with the id `<sop>/<trigger>-<item id>`, so an item starts exactly once: the start
// is recorded in history before the watermark moves, replay after a worker crash repeats neither, and a
// start of an id that exists is refused by the server. Continues as new with its state.

import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ActivityFailure,
  condition,
  defineQuery,
  defineSignal,
  log,
  makeContinueAsNewFunc,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type * as pollActivities from '../activities/poll';
import type { PollResult } from '../activities/poll';
import { triggeredTaskId } from '../model/trigger-ids';
import { triggerRunRequest } from '../model/trigger-request';
import { TRIGGER_MEMO_KEY, type TriggerSpec } from '../model/triggers';
import { SopName } from '../temporal/search-attributes';

export interface SensorConfig {
  /** a poll trigger */
  trigger: TriggerSpec;
  projectDir: string;
  bundleHash: string;
  /** hash of this config (sync compares it) */
  configHash: string;
}

export interface SensorState {
  /** ids seen (newest last, at most MAX_SEEN), when the sensor has no watermark field */
  seen: string[];
  /** the highest watermark value seen */
  watermark?: string | number;
  polls: number;
  fired: number;
  lastPollAt?: string;
  lastFireAt?: string;
  lastRun?: string;
  lastError?: string;
}

export interface SensorInput extends SensorConfig {
  state?: SensorState;
}

export interface SensorStatus extends SensorState {
  sop: string;
  trigger: string;
  bundleHash: string;
  configHash: string;
  nextPollAt?: string;
}

export const sensorStatusQuery = defineQuery<SensorStatus>('sensorStatus');
/** a new config from `sop triggers sync` (same id, watermark kept) */
export const sensorReconfigureSignal = defineSignal<[SensorConfig]>('sensorReconfigure');

/** what `sop triggers sync` and `list` read from the sensor's memo (under TRIGGER_MEMO_KEY) */
export const sensorTagOf = (config: SensorConfig) => ({
  sop: config.trigger.sop,
  trigger: config.trigger.name,
  project: config.projectDir,
  bundleHash: config.bundleHash,
  configHash: config.configHash,
});

const MAX_SEEN = 10_000;
/** polls per execution before continuing as new (each poll adds a handful of events per new item) */
const POLLS_PER_EXECUTION = 200;

// short: a poll lost with its worker is retried elsewhere after this (the command/HTTP limit is 20 s)
const POLL_OPTIONS = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
} as const;
const { pollSensor } = proxyActivities<typeof pollActivities>(POLL_OPTIONS);

export async function sopSensor(input: SensorInput): Promise<void> {
  let config: SensorConfig = {
    trigger: input.trigger,
    projectDir: input.projectDir,
    bundleHash: input.bundleHash,
    configHash: input.configHash,
  };
  const state: SensorState = input.state ?? { seen: [], polls: 0, fired: 0 };
  let nextPollAt: string | undefined;
  let reconfigured = false;
  setHandler(sensorStatusQuery, () => ({
    ...state,
    sop: config.trigger.sop,
    trigger: config.trigger.name,
    bundleHash: config.bundleHash,
    configHash: config.configHash,
    nextPollAt,
  }));
  setHandler(sensorReconfigureSignal, (next) => {
    // a malformed signal must not break the sensor; the same config again changes nothing
    const problem = reconfigureProblem(next);
    if (problem) {
      log.warn(`ignored sensorReconfigure signal: ${problem}`);
      return;
    }
    if (next.configHash === config.configHash) return;
    config = next;
    reconfigured = true;
  });

  for (let polls = 0; polls < POLLS_PER_EXECUTION && !reconfigured; polls++) {
    await pollOnce(config, state);
    const every = config.trigger.kind === 'poll' ? config.trigger.poll.everyMs : 60_000;
    nextPollAt = new Date(Date.now() + every).toISOString();
    await condition(() => reconfigured, every);
  }
  // the memo says which config runs (sync compares it); passed on, or the next execution has the first one
  const memo = { ...workflowInfo().memo, [TRIGGER_MEMO_KEY]: sensorTagOf(config) };
  await makeContinueAsNewFunc<typeof sopSensor>({ memo })({ ...config, state });
}

async function pollOnce(config: SensorConfig, state: SensorState): Promise<void> {
  const { trigger } = config;
  if (trigger.kind !== 'poll') return;
  const label = `${trigger.sop}.${trigger.name}`;
  state.polls++;
  state.lastPollAt = new Date(Date.now()).toISOString();
  let result: PollResult;
  try {
    result = await pollSensor.executeWithOptions({ ...POLL_OPTIONS, summary: `poll ${label}` }, [
      { poll: trigger.poll, projectDir: config.projectDir, label },
    ]);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    state.lastError = err.cause?.message ?? err.message;
    return;
  }
  const problems = [...result.problems];
  const seen = new Set(state.seen);
  const from = state.watermark;
  for (const polled of result.items) {
    const isNew =
      trigger.poll.watermark === undefined
        ? !seen.has(polled.id)
        : from === undefined || (polled.mark !== undefined && polled.mark > from);
    if (!isNew) continue;
    const task = triggeredTaskId(trigger.name, polled.id);
    const made = triggerRunRequest(
      trigger,
      { payload: polled.item, item: polled.item },
      { projectDir: config.projectDir, task },
    );
    if ('problem' in made) problems.push(`item ${polled.id}: ${made.problem}`);
    else {
      const workflowId = `${trigger.sop}/${task}`;
      try {
        await startChild(trigger.sop, {
          workflowId,
          args: [made.request],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: [{ key: SopName, value: trigger.sop }],
          memo: { workspace: made.request.repo.path ?? made.request.repo.url, startedBy: `sensor ${label}` },
          staticSummary: `${trigger.sop}: item ${polled.id} (sensor ${trigger.name})`.slice(0, 200),
        });
        state.fired++;
        state.lastFireAt = new Date(Date.now()).toISOString();
        state.lastRun = workflowId;
      } catch (err) {
        // already started (by an earlier execution of this sensor, or by hand): exactly once holds
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
    remember(state, polled.id, polled.mark, seen);
  }
  state.lastError = problems.length > 0 ? problems.slice(0, 3).join('; ') : undefined;
}

function remember(
  state: SensorState,
  id: string,
  mark: string | number | undefined,
  seen: Set<string>,
): void {
  if (mark !== undefined) {
    if (state.watermark === undefined || mark > state.watermark) state.watermark = mark;
    return;
  }
  seen.add(id);
  state.seen.push(id);
  if (state.seen.length > MAX_SEEN) state.seen.splice(0, state.seen.length - MAX_SEEN);
}

/** Why a reconfigure signal (from any client) cannot be the sensor's new config; undefined when it can. */
function reconfigureProblem(next: SensorConfig | undefined): string | undefined {
  const trigger = next?.trigger;
  if (trigger?.kind !== 'poll') return 'trigger.kind must be "poll"';
  if (typeof trigger.sop !== 'string' || typeof trigger.name !== 'string')
    return 'trigger.sop and trigger.name must be strings';
  const every = trigger.poll?.everyMs;
  if (typeof every !== 'number' || !Number.isFinite(every) || every <= 0)
    return 'trigger.poll.everyMs must be a positive number';
  for (const field of ['projectDir', 'bundleHash', 'configHash'] as const)
    if (typeof next?.[field] !== 'string') return `${field} must be a string`;
  return undefined;
}
