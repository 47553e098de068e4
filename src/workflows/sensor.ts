// A polling sensor (`triggers: { NAME: { poll: ... } }`): one long-running workflow per declared sensor,
// started by `sop triggers sync`. Every interval it runs the poll as an activity, keeps the watermark
// (the ids it has seen, or the highest watermark value) in workflow state, and starts one run per new item
// as an abandoned child with the id `<sop>/<trigger>-<item id>`, so an item starts exactly once: the start
// is recorded in history before the watermark moves, replay after a worker crash repeats neither, and a
// start of an id that exists is refused by the server. Continues as new with its state.

import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  log,
  makeContinueAsNewFunc,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type * as pollActivities from '../activities/poll';
import type { PollResult } from '../activities/poll';
import { parseMessageArg } from '../shapes/message-args';
import { triggeredTaskId } from '../shapes/trigger-ids';
import { triggerRunRequest } from '../shapes/trigger-request';
import {
  RUN_TRIGGER_MEMO_KEY,
  SENSOR_CONFIG_SHAPE,
  SENSOR_PAUSE_SHAPE,
  type SensorConfig,
  SensorConfigSchema,
  type SensorInput,
  SensorInputSchema,
  type SensorPause,
  SensorPauseSchema,
  type SensorRunMemo,
  type SensorState,
} from '../shapes/trigger-shapes';
import { TRIGGER_MEMO_KEY } from '../shapes/triggers';
import { SopName } from '../temporal/search-attributes';

export type { SensorConfig, SensorInput };

export interface SensorStatus extends SensorState {
  sop: string;
  trigger: string;
  bundleHash: string;
  configHash: string;
  nextPollAt?: string;
}

const sensorStatusQuery = defineQuery<SensorStatus>('sensorStatus');
/** a new config from `sop triggers sync` (same id, watermark kept) */
export const sensorReconfigureSignal = defineSignal<[SensorConfig]>('sensorReconfigure');
/** pause (no polls, no runs) or unpause, from `sop triggers pause|unpause` */
export const sensorPauseSignal = defineSignal<[SensorPause]>('sensorPause');
/**
 * Pausing changes what a paused sensor's loop emits: decided once at the start of each execution, so
 * executions started before it replay as they ran (they continue as new into one that has it).
 */
const SENSOR_PAUSE_PATCH = 'sensor-pause-v1';
/**
 * The runs a sensor starts name the polled item in their memo (`sop runs show` prints it): decided once at
 * the start of each execution, like pausing.
 */
const SENSOR_RUN_ITEM_PATCH = 'sensor-run-item-v1';

/** What one poll did: the runs it started (workflow ids) and the problem it met, if any. */
export interface SensorPollResult {
  /** the poll's number (SensorState.polls after it) */
  poll: number;
  at: string;
  started: string[];
  error?: string;
}
/**
 * Poll at once (`sop triggers trigger-now` on a poll trigger), paused or not; answers when that poll is
 * done. Histories without it replay as before: it only wakes the loop when one was accepted.
 */
export const sensorPollNowUpdate = defineUpdate<SensorPollResult, []>('sensorPollNow');

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

export async function sopSensor(raw: SensorInput): Promise<void> {
  const pausable = patched(SENSOR_PAUSE_PATCH);
  const itemInMemo = patched(SENSOR_RUN_ITEM_PATCH);
  const parsed = parseMessageArg(SensorInputSchema, raw, 'input', SENSOR_CONFIG_SHAPE);
  if (!parsed.ok) throw ApplicationFailure.nonRetryable(`sopSensor: ${parsed.problem}`, 'SopSensorInput');
  const { state: given, ...first } = parsed.value;
  let config: SensorConfig = first;
  const state: SensorState = given ?? { seen: [], polls: 0, fired: 0 };
  let nextPollAt: string | undefined;
  let reconfigured = false;
  let pollWanted = false;
  let lastPoll: SensorPollResult | undefined;
  setHandler(sensorStatusQuery, () => ({
    ...state,
    sop: config.trigger.sop,
    trigger: config.trigger.name,
    bundleHash: config.bundleHash,
    configHash: config.configHash,
    nextPollAt,
  }));
  // a malformed signal (from any client) must not break the sensor: ignored with the reason logged
  setHandler(sensorReconfigureSignal, (arg) => {
    const next = parseMessageArg(SensorConfigSchema, arg, 'config', SENSOR_CONFIG_SHAPE);
    if (!next.ok) return void log.warn(`ignored sensorReconfigure signal: ${next.problem}`);
    // the same config again changes nothing
    if (next.value.configHash === config.configHash) return;
    config = next.value;
    reconfigured = true;
  });
  setHandler(sensorPauseSignal, (arg) => {
    const pause = parseMessageArg(SensorPauseSchema, arg, 'pause', SENSOR_PAUSE_SHAPE);
    if (!pause.ok) return void log.warn(`ignored sensorPause signal: ${pause.problem}`);
    if (!pausable)
      return void log.warn(
        'ignored sensorPause signal: this execution of the sensor started before sensors could be paused; send it again after the sensor continues as new',
      );
    if (!pause.value.paused) state.paused = undefined;
    else
      state.paused = {
        note: pause.value.note ?? 'paused with sop triggers pause',
        at: new Date(Date.now()).toISOString(),
      };
  });

  setHandler(sensorPollNowUpdate, async () => {
    // the poll under way (if any) began before the request: the answer is the one after it
    const after = state.polls;
    pollWanted = true;
    await condition(() => lastPoll !== undefined && lastPoll.poll > after);
    return lastPoll!;
  });
  const poll = async () => {
    pollWanted = false;
    const started = await pollOnce(config, state, itemInMemo);
    lastPoll = { poll: state.polls, at: state.lastPollAt!, started, error: state.lastError };
  };

  for (let polls = 0; polls < POLLS_PER_EXECUTION && !reconfigured; ) {
    if (state.paused && !pollWanted) {
      // no polls and no timers while paused: unpause (or poll now) polls at once
      nextPollAt = undefined;
      await condition(() => reconfigured || !state.paused || pollWanted);
      continue;
    }
    polls++;
    await poll();
    const every = config.trigger.poll.everyMs;
    nextPollAt = new Date(Date.now() + every).toISOString();
    await condition(() => reconfigured || (pausable && state.paused !== undefined) || pollWanted, every);
  }
  // a poll asked for now is done in this execution, and answered before it continues as new
  if (pollWanted) await poll();
  await condition(allHandlersFinished);
  // the memo says which config runs (sync compares it); passed on, or the next execution has the first one
  const memo = { ...workflowInfo().memo, [TRIGGER_MEMO_KEY]: sensorTagOf(config) };
  await makeContinueAsNewFunc<typeof sopSensor>({ memo })({ ...config, state });
}

/** One poll; returns the workflow ids of the runs it started. */
async function pollOnce(config: SensorConfig, state: SensorState, itemInMemo: boolean): Promise<string[]> {
  const { trigger } = config;
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
    return [];
  }
  const started: string[] = [];
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
          memo: {
            workspace: made.request.repo.path ?? made.request.repo.url,
            startedBy: `sensor ${label}`,
            ...(itemInMemo
              ? {
                  [RUN_TRIGGER_MEMO_KEY]: {
                    kind: 'sensor',
                    trigger: label,
                    item: polled.id,
                  } satisfies SensorRunMemo,
                }
              : {}),
          },
          staticSummary: `${trigger.sop}: item ${polled.id} (sensor ${trigger.name})`.slice(0, 200),
        });
        state.fired++;
        state.lastFireAt = new Date(Date.now()).toISOString();
        state.lastRun = workflowId;
        started.push(workflowId);
      } catch (err) {
        // already started (by an earlier execution of this sensor, or by hand): exactly once holds
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
    remember(state, polled.id, polled.mark, seen);
  }
  state.lastError = problems.length > 0 ? problems.slice(0, 3).join('; ') : undefined;
  return started;
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
