// Compile-time checks of one SOP's `triggers:` and `emits:`: each trigger has exactly one source, its
// fields fit together, its `input:` names declared inputs (and gives every required one), and its
// templates use only the variables its kind provides. The event graph across SOPs is event-graph.ts.

import type { DiagnosticCode } from '../shapes/diagnostics';
import { TRIGGER_TEMPLATE_ROOTS, type TriggerKind } from '../shapes/triggers';
import type { SopFile } from './schema';
import { scanTemplate } from './templates';
import { emittedEvents, triggerKinds } from './triggers';
import type { KeyPath } from './yaml-source';

export type Report = (
  code: DiagnosticCode,
  message: string,
  at: KeyPath,
  key?: boolean,
  hint?: string,
) => void;
/** checks the templates of a string value with the SOP's own scope (emits payloads) */
export type CheckRunTemplate = (text: string, at: KeyPath) => void;

/** Fields each context object offers; `*` means anything below it (payloads are free-form). */
const CONTEXT_FIELDS: Record<string, readonly string[] | '*'> = {
  payload: '*',
  item: '*',
  trigger: ['name', 'sop', 'kind'],
  schedule: ['name', 'sop'],
  webhook: ['name', 'delivery', 'event'],
  event: ['name', 'outputs', 'sop', 'run'],
};

export function checkTriggers(sop: SopFile, report: Report, checkRunTemplate: CheckRunTemplate): void {
  const inputs = sop.input ?? {};
  for (const [name, trigger] of Object.entries(sop.triggers ?? {})) {
    const at = ['triggers', name];
    const kinds = triggerKinds(trigger);
    if (kinds.length !== 1) {
      report(
        'SOP230',
        kinds.length === 0
          ? `trigger ${name} declares no source`
          : `trigger ${name} declares ${kinds.join(' and ')}: one trigger has one source`,
        at,
        true,
      );
      continue;
    }
    const kind = kinds[0];
    if (
      trigger.schedule &&
      (trigger.schedule.cron === undefined) === (trigger.schedule.every === undefined)
    ) {
      report(
        'SOP231',
        `trigger ${name}: schedule needs exactly one of cron or every`,
        [...at, 'schedule'],
        true,
        'write `every: 1h` for an interval or `cron: "0 3 * * *"` for calendar times',
      );
    }
    if (trigger.poll && (trigger.poll.command === undefined) === (trigger.poll.http === undefined)) {
      report(
        'SOP231',
        `trigger ${name}: poll needs exactly one of command or http`,
        [...at, 'poll'],
        true,
        'write `command: "./list-items.sh"` or `http: { url: https://... }`',
      );
    }
    if (trigger.repo && (trigger.repo.path === undefined) === (trigger.repo.url === undefined)) {
      report(
        'SOP231',
        `trigger ${name}: repo needs exactly one of path or url`,
        [...at, 'repo'],
        true,
        'write `repo: { path: . }` (relative to the project root) or `repo: { url: git@... }`',
      );
    }
    // input: declared fields only, every required one given (when the SOP declares its input)
    const mapping = trigger.input ?? {};
    if (sop.input !== undefined) {
      for (const field of Object.keys(mapping)) {
        if (!(field in inputs)) {
          report(
            'SOP232',
            `trigger ${name}: input.${field} is not an input of ${sop.name}`,
            [...at, 'input', field],
            true,
            `declared inputs: ${Object.keys(inputs).join(', ') || 'none'}`,
          );
        }
      }
      for (const [field, spec] of Object.entries(inputs)) {
        const optional = typeof spec !== 'string' && (spec.required === false || spec.default !== undefined);
        if (!optional && !(field in mapping)) {
          report(
            'SOP233',
            `trigger ${name}: input.${field} is required by ${sop.name} but the trigger does not give it`,
            [...at, ...(trigger.input ? ['input'] : [])],
            true,
            `add \`input: { ${field}: "{{ payload.... }}" }\` to the trigger`,
          );
        }
      }
    }
    visitStrings(mapping, [...at, 'input'], (text, where) => checkTriggerTemplate(text, kind, where, report));
    visitStrings(trigger.repo ?? {}, [...at, 'repo'], (text, where) =>
      checkTriggerTemplate(text, kind, where, report),
    );
  }
  for (const { at } of emittedEvents(sop)) {
    const emitAt = at[at.length - 1] === 'event' ? at.slice(0, -1) : at;
    const payload = payloadAt(sop, emitAt);
    if (payload) visitStrings(payload, [...emitAt, 'payload'], checkRunTemplate);
  }
}

function checkTriggerTemplate(text: string, kind: TriggerKind, at: KeyPath, report: Report): void {
  const { variables, problems } = scanTemplate(text);
  for (const problem of problems) report('SOP404', `malformed template ${JSON.stringify(problem.text)}`, at);
  const roots = TRIGGER_TEMPLATE_ROOTS[kind];
  for (const { path } of variables) {
    const [root, first] = path.split('.');
    if (!roots.includes(root)) {
      report(
        'SOP401',
        `{{ ${path} }}: "${root}" is not available in a ${kind} trigger (available: ${roots.join(', ')})`,
        at,
        false,
        kind === 'schedule' && root === 'run'
          ? 'the fire time is part of the run id; prompts can use {{ run.task }}'
          : undefined,
      );
      continue;
    }
    const fields = CONTEXT_FIELDS[root];
    if (fields !== '*' && first !== undefined && !fields.includes(first)) {
      report(
        'SOP401',
        `{{ ${path} }}: ${root} has ${fields.join(', ')}`,
        at,
        false,
        kind === 'schedule' && first === 'time'
          ? 'the fire time is part of the run id (<sop>/<trigger>-<time>); prompts can use {{ run.task }}'
          : undefined,
      );
    }
  }
}

/** Calls `visit` with every string inside `value` and its key path. */
export function visitStrings(value: unknown, at: KeyPath, visit: (text: string, at: KeyPath) => void): void {
  if (typeof value === 'string') visit(value, at);
  else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) visitStrings(v, [...at, i], visit);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) visitStrings(v, [...at, k], visit);
  }
}

function payloadAt(sop: SopFile, at: KeyPath): Record<string, unknown> | undefined {
  let value: unknown = sop;
  for (const key of at) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  if (value && typeof value === 'object' && 'payload' in value) {
    return (value as { payload?: Record<string, unknown> }).payload;
  }
  return undefined;
}
