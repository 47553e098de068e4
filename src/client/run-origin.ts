// What started a run, from what Temporal keeps of it: the memo its starter wrote (a webhook delivery, an
// event, a sensor's item, a Schedule's trigger, the parent of a `kind: sop` step), the search attributes a
// Schedule sets (TemporalScheduledById, TemporalScheduledStartTime), and the client identity that started
// the first execution of the run (continue-as-new keeps the run; `sop resume` / `sop rerun` start a new one).

import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { parentFromMemo } from '../shapes/lineage';
import { RUN_TRIGGER_MEMO_KEY, RunTriggerMemoSchema, TriggerTagSchema } from '../shapes/trigger-shapes';
import { TRIGGER_MEMO_KEY } from '../shapes/triggers';

type StartedAttributes = temporal.api.history.v1.IWorkflowExecutionStartedEventAttributes;

/** What started a run; `identity` is the Temporal client identity that started it (user@host for `sop`). */
export type RunOrigin = { identity: string | null } & (
  | { kind: 'client'; restart?: string }
  | { kind: 'schedule'; schedule: string; trigger?: string; fireTime: string | null }
  | { kind: 'webhook'; hook: string; delivery: string; event?: string }
  | { kind: 'event'; event: string; trigger?: string; parent: string }
  | { kind: 'call'; parent: string; step: string; item?: string }
  | { kind: 'sensor'; sensor: string | null; trigger?: string; item?: string }
);

export interface OriginFacts {
  memo?: Record<string, unknown>;
  /** the Temporal parent of a child workflow (a `kind: sop` step's run, a sensor) */
  parentWorkflowId?: string;
  /** the started event of the first execution of the run */
  started?: StartedAttributes | null;
}

/** What started the run, from its memo, its Temporal parent and its first execution's started event. */
export function originOf(facts: OriginFacts): RunOrigin {
  const { memo, started } = facts;
  const identity = started?.identity || null;
  const parent = parentFromMemo(memo);
  const trigger = RunTriggerMemoSchema.safeParse(memo?.[RUN_TRIGGER_MEMO_KEY]);
  const tagged = trigger.success ? trigger.data : undefined;
  if (parent?.step !== undefined) {
    return {
      kind: 'call',
      parent: parent.workflowId,
      step: parent.step,
      ...(parent.item !== undefined ? { item: parent.item } : {}),
      identity,
    };
  }
  if (parent?.event !== undefined) {
    const name = tagged?.kind === 'event' ? tagged.name : undefined;
    return {
      kind: 'event',
      event: parent.event,
      ...(name ? { trigger: name } : {}),
      parent: parent.workflowId,
      identity,
    };
  }
  const scheduledBy = searchAttribute(started, 'TemporalScheduledById');
  if (typeof scheduledBy === 'string') {
    const tag = TriggerTagSchema.safeParse(memo?.[TRIGGER_MEMO_KEY]);
    const fireTime = searchAttribute(started, 'TemporalScheduledStartTime');
    return {
      kind: 'schedule',
      schedule: scheduledBy,
      ...(tag.success ? { trigger: tag.data.trigger } : {}),
      fireTime: fireTime ? new Date(String(fireTime)).toISOString() : null,
      identity,
    };
  }
  if (tagged?.kind === 'webhook') {
    const { hook, delivery, event } = tagged;
    return { kind: 'webhook', hook, delivery, ...(event ? { event } : {}), identity };
  }
  const sensorLabel =
    typeof memo?.startedBy === 'string' ? /^sensor (.+)$/.exec(memo.startedBy)?.[1] : undefined;
  if (tagged?.kind === 'sensor' || sensorLabel) {
    const label = tagged?.kind === 'sensor' ? tagged.trigger : sensorLabel;
    return {
      kind: 'sensor',
      sensor: facts.parentWorkflowId ?? null,
      ...(label ? { trigger: label } : {}),
      ...(tagged?.kind === 'sensor' ? { item: tagged.item } : {}),
      identity,
    };
  }
  const restart = typeof memo?.restartedBy === 'string' ? memo.restartedBy : undefined;
  return { kind: 'client', ...(restart ? { restart } : {}), identity };
}

/** One line: `schedule tick/every5 (trigger every5), fire time 2026-12-07T18:00:00.000Z`. */
export function describeOrigin(origin: RunOrigin): string {
  const by = origin.identity ? ` as ${origin.identity}` : '';
  switch (origin.kind) {
    case 'client':
      return `${origin.identity ?? 'a Temporal client that gave no identity'}${origin.restart ? ` (sop ${origin.restart})` : ''}`;
    case 'schedule':
      return `schedule ${origin.schedule}${origin.trigger ? ` (trigger ${origin.trigger})` : ''}, fire time ${origin.fireTime ?? 'unknown'}`;
    case 'webhook':
      return `webhook ${origin.hook}, delivery ${origin.delivery}${origin.event ? ` (event ${origin.event})` : ''}, through sop serve${by}`;
    case 'event':
      return `event ${origin.event} of run ${origin.parent}${origin.trigger ? ` (trigger ${origin.trigger})` : ''}`;
    case 'call':
      return `step ${origin.step}${origin.item !== undefined ? ` [${origin.item}]` : ''} of run ${origin.parent}`;
    case 'sensor':
      return `sensor ${origin.trigger ?? origin.sensor}${origin.sensor ? ` (${origin.sensor})` : ''}${origin.item !== undefined ? `, item ${origin.item}` : ''}`;
  }
}

/** The started event of the run's first execution (one event read per execution, not the whole history). */
export async function firstStartedEvent(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<StartedAttributes | null> {
  const started = await startedEventOf(client, workflowId, runId);
  const first = started?.firstExecutionRunId;
  if (!started || !first || first === runId) return started;
  return (await startedEventOf(client, workflowId, first).catch(() => null)) ?? started;
}

async function startedEventOf(client: Client, workflowId: string, runId: string) {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 1,
  });
  return history?.events?.[0]?.workflowExecutionStartedEventAttributes ?? null;
}

function searchAttribute(started: StartedAttributes | null | undefined, name: string): unknown {
  const payload = started?.searchAttributes?.indexedFields?.[name];
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload as never);
  } catch {
    return undefined;
  }
}
