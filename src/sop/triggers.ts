// The SOP's `triggers:` and `emits:` as plan data (src/shapes/triggers.ts). Pure helpers shared by the
// plan mapping, the compiler checks and the trigger commands.

import { durationMs } from '../shapes/duration';
import type { EmitSpec, TriggerSource, TriggerSpec } from '../shapes/triggers';
import type { SopFile, SopStep } from './schema';
import type { SopEmits, SopTrigger } from './trigger-schema';

const list = (value: string | string[] | undefined): string[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

/** The kinds a trigger declares (a valid trigger declares exactly one). */
export function triggerKinds(trigger: SopTrigger): Array<TriggerSource['kind']> {
  return (['schedule', 'webhook', 'event', 'poll'] as const).filter((k) => trigger[k] !== undefined);
}

/** undefined when the trigger does not declare exactly one well-formed source (the checks report it) */
function triggerSource(trigger: SopTrigger): TriggerSource | undefined {
  const kinds = triggerKinds(trigger);
  if (kinds.length !== 1) return undefined;
  if (trigger.schedule) {
    const s = trigger.schedule;
    if ((s.cron === undefined) === (s.every === undefined)) return undefined;
    return {
      kind: 'schedule',
      schedule: {
        cron: list(s.cron) ?? [],
        ...(s.every !== undefined ? { everyMs: durationMs(s.every) } : {}),
        ...(s.timezone ? { timezone: s.timezone } : {}),
        overlap: s.overlap ?? 'skip',
        ...(s.jitter !== undefined ? { jitterMs: durationMs(s.jitter) } : {}),
      },
    };
  }
  if (trigger.webhook) {
    const w = trigger.webhook;
    const [from, ...rest] = (w.dedupe ?? 'header:X-GitHub-Delivery').split(':');
    const filter = w.filter ?? {};
    return {
      kind: 'webhook',
      webhook: {
        hook: w.name,
        secretEnv: w.secret_env,
        signature: w.signature ?? 'github',
        filter: {
          ...(filter.event ? { event: list(filter.event) } : {}),
          ...(filter.action ? { action: list(filter.action) } : {}),
          ...(filter.branch ? { branch: list(filter.branch) } : {}),
          ...(filter.labels ? { labels: filter.labels } : {}),
        },
        dedupe: { from: from as 'header' | 'payload', name: rest.join(':') },
      },
    };
  }
  if (trigger.event !== undefined) return { kind: 'event', event: trigger.event };
  const p = trigger.poll!;
  if ((p.command === undefined) === (p.http === undefined)) return undefined;
  return {
    kind: 'poll',
    poll: {
      ...(p.command !== undefined ? { command: p.command } : {}),
      ...(p.http ? { http: { url: p.http.url, headers: p.http.headers ?? {} } } : {}),
      everyMs: durationMs(p.every),
      itemId: p.item_id,
      ...(p.watermark ? { watermark: p.watermark } : {}),
      ...(p.items ? { items: p.items } : {}),
    },
  };
}

/** Every trigger the SOP declares, as plan data. */
export function triggerSpecs(sop: SopFile): TriggerSpec[] {
  return Object.entries(sop.triggers ?? {}).flatMap(([name, trigger]) => {
    const source = triggerSource(trigger);
    if (!source) return [];
    return [
      {
        ...source,
        name,
        sop: sop.name,
        input: trigger.input ?? {},
        ...(trigger.repo ? { repo: trigger.repo } : {}),
        ...(trigger.params ? { params: trigger.params } : {}),
        ...(trigger.priority !== undefined ? { priority: trigger.priority } : {}),
      },
    ];
  });
}

/** `emits:` in any of its forms as a list. */
export function emitSpecs(emits: SopEmits | undefined): EmitSpec[] {
  if (emits === undefined) return [];
  return (Array.isArray(emits) ? emits : [emits]).map((e) =>
    typeof e === 'string' ? { event: e } : { event: e.event, ...(e.payload ? { payload: e.payload } : {}) },
  );
}

/** The `emits:` of a route of a step (routes written as a bare target emit nothing). */
export function routeEmits(step: SopStep, route: string): EmitSpec[] {
  const spec = step.routes?.[route];
  return spec === undefined || typeof spec === 'string' ? [] : emitSpecs(spec.emits);
}

/** Every event the SOP can emit, with where it is declared (key path in the SOP file). */
export function emittedEvents(sop: SopFile): Array<{ event: string; at: Array<string | number> }> {
  const out: Array<{ event: string; at: Array<string | number> }> = [];
  const add = (emits: SopEmits | undefined, at: Array<string | number>) => {
    if (emits === undefined) return;
    const many = Array.isArray(emits);
    (many ? emits : [emits]).forEach((e, i) => {
      const where = many ? [...at, i] : at;
      out.push({
        event: typeof e === 'string' ? e : e.event,
        at: typeof e === 'string' ? where : [...where, 'event'],
      });
    });
  };
  add(sop.emits, ['emits']);
  for (const [stepName, step] of Object.entries(sop.steps)) {
    for (const [routeName, route] of Object.entries(step.routes ?? {})) {
      if (typeof route !== 'string') add(route.emits, ['steps', stepName, 'routes', routeName, 'emits']);
    }
  }
  return out;
}

/** Every event the SOP listens to, with the trigger and where it is declared. */
export function heardEvents(
  sop: SopFile,
): Array<{ event: string; trigger: string; at: Array<string | number> }> {
  return Object.entries(sop.triggers ?? {}).flatMap(([name, t]) =>
    t.event === undefined ? [] : [{ event: t.event, trigger: name, at: ['triggers', name, 'event'] }],
  );
}
