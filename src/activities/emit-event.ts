// Events between SOPs: the activity that starts every SOP listening to an event a run emitted. Each
// listener's run gets a task id derived from the emitting run (retries and replays start nothing twice),
// the payload built from the run's outputs, and its lineage (memo `parent`, SopParent search attribute).
// A chain deeper than the limit fails the emitting run with the chain named.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { SopClient } from '../client/sop-client';
import { envValue } from '../config/env';
import {
  type EmitEventRequest,
  type EmitEventResult,
  type EmittedRun,
  EVENT_DEPTH_EXCEEDED,
  EVENT_MAPPING_FAILED,
  PARENT_MEMO_KEY,
  type RunParent,
} from '../shapes/lineage';
import { renderValue, triggerRunRequest } from '../shapes/trigger-request';
import { type EventRunMemo, RUN_TRIGGER_MEMO_KEY } from '../shapes/trigger-shapes';
import type { TriggerSpec } from '../shapes/triggers';
import { Catalog } from '../sop/catalog';
import { planFromBundle } from '../sop/plan-from-bundle';
import { resolveTemporalTarget } from '../temporal/target';

export interface EmitActivityDeps {
  /** the worker's project (its sops/); default: the worker's working directory */
  projectDir?: string;
  /** default: SOP_EVENT_MAX_DEPTH (docs/configuration.md) */
  maxEventDepth?: number;
}

export type EmitActivities = ReturnType<typeof createEmitActivities>;

export function createEmitActivities(deps: EmitActivityDeps = {}) {
  return {
    async emitEvent(request: EmitEventRequest): Promise<EmitEventResult> {
      const { event, emitter } = request;
      const catalog = new Catalog({
        projectDir: deps.projectDir ?? process.cwd(),
        workspace: emitter.workspace,
      });
      const listeners = listenersOf(catalog, event);
      if (listeners.length === 0) return { event, runs: [] };

      const depth = (request.emitterParent?.depth ?? 0) + 1;
      const chain = [...(request.emitterParent?.chain ?? []), emitter.workflowId];
      const max = deps.maxEventDepth ?? envValue('SOP_EVENT_MAX_DEPTH');
      if (depth > max) {
        throw ApplicationFailure.create({
          type: EVENT_DEPTH_EXCEEDED,
          nonRetryable: true,
          message: `event ${event}: the chain ${chain.join(' → ')} is ${depth - 1} event(s) deep; starting ${listeners.map((l) => l.sop).join(', ')} would pass the limit of ${max} (SOP_EVENT_MAX_DEPTH on the worker); break the chain or raise the limit`,
        });
      }
      const payload = eventPayload(request);
      const parent: RunParent = { workflowId: emitter.workflowId, runId: emitter.runId, event, depth, chain };
      const client = new SopClient(Context.current().client, {
        ...resolveTemporalTarget(),
        taskQueue: emitter.taskQueue,
      });
      const runs: EmittedRun[] = [];
      for (const trigger of listeners) {
        const mapped = triggerRunRequest(
          trigger,
          {
            payload,
            event: {
              name: event,
              outputs: payload,
              sop: request.scope.run.sop,
              run: emitter.workflowId,
            },
          },
          { task: request.childTask, projectDir: emitter.workspace },
        );
        if ('problem' in mapped) {
          throw ApplicationFailure.create({
            type: EVENT_MAPPING_FAILED,
            nonRetryable: true,
            message: `event ${event} → ${trigger.sop}: ${mapped.problem}`,
          });
        }
        const run = await client.startOnce(
          { ...mapped.request, task: request.childTask },
          {
            memo: {
              [PARENT_MEMO_KEY]: parent,
              [RUN_TRIGGER_MEMO_KEY]: { kind: 'event', name: trigger.name, event } satisfies EventRunMemo,
            },
            parent: emitter.workflowId,
            taskQueue: emitter.taskQueue,
          },
        );
        runs.push({ sop: trigger.sop, trigger: trigger.name, ...run });
      }
      return { event, runs };
    },
  };
}

/** Every trigger of the catalog that listens to `event`. */
function listenersOf(catalog: Catalog, event: string): TriggerSpec[] {
  const found: TriggerSpec[] = [];
  for (const entry of catalog.entries) {
    const bundle = catalog.compile(entry).bundle;
    if (!bundle) continue;
    for (const trigger of planFromBundle(bundle).triggers ?? [])
      if (trigger.kind === 'event' && trigger.event === event) found.push(trigger);
  }
  return found;
}

/** steps.<step>.payload of the run so far: the payload of an event that declares none. */
function outputsOf(request: EmitEventRequest): Record<string, unknown> {
  return Object.fromEntries(Object.entries(request.scope.steps).map(([step, out]) => [step, out.payload]));
}

/** The declared payload rendered over the run's input, params, run and steps; absent: the outputs. */
function eventPayload(request: EmitEventRequest): unknown {
  if (!request.payload) return outputsOf(request);
  const rendered = renderValue(request.payload, { ...request.scope }, `emits ${request.event} payload`);
  if ('problem' in rendered) {
    throw ApplicationFailure.create({
      type: EVENT_MAPPING_FAILED,
      nonRetryable: true,
      message: `event ${request.event}: ${rendered.problem}`,
    });
  }
  return rendered.value;
}
