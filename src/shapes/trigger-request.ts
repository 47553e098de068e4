// A trigger's payload → a run request: the one mapping every trigger kind uses (schedules, webhooks,
// events between SOPs, polling sensors). The trigger's `input:` and `repo:` templates are rendered over
// the trigger context; a string that is exactly one `{{ path }}` keeps the value's type. Pure (no node
// modules): the sensor workflow builds its requests with it.

import { lookup } from './render-text';
import { parseRunRequest, type RunRequest } from './run-request';
import type { TriggerSpec } from './triggers';

/** What a trigger's templates may read: `payload` always, plus the kind's own root. */
export interface TriggerContext {
  /** the webhook body, the event payload, the polled item, the schedule's facts */
  payload: unknown;
  schedule?: { name: string; sop: string };
  webhook?: { name: string; delivery: string; event?: string };
  event?: { name: string; outputs: unknown; sop: string; run: string };
  /** poll: the item (same as payload) */
  item?: unknown;
}

export interface TriggerRequestOptions {
  /** the task id (the part of the workflow id after `<sop>/`); absent: the starter's workflow id decides */
  task?: string;
  /** absolute path: where a relative (or absent) `repo.path` of the trigger is resolved */
  projectDir: string;
}

const WHOLE = /^\{\{\s*([\w-]+(?:\.[\w-]+)*)\s*\}\}$/;
const ANY = /\{\{\s*([\w-]+(?:\.[\w-]+)*)\s*\}\}/g;

/** The run request the trigger makes of this context, or one line naming the field that is wrong. */
export function triggerRunRequest(
  trigger: TriggerSpec,
  context: TriggerContext,
  options: TriggerRequestOptions,
): { request: RunRequest } | { problem: string } {
  const scope: Record<string, unknown> = {
    ...context,
    trigger: { name: trigger.name, sop: trigger.sop, kind: trigger.kind },
  };
  const where = `trigger ${trigger.sop}.${trigger.name}`;
  const input = renderValue(trigger.input, scope, 'input');
  if ('problem' in input) return { problem: `${where}: ${input.problem}` };
  const repo = renderValue(trigger.repo ?? { path: '.' }, scope, 'repo');
  if ('problem' in repo) return { problem: `${where}: ${repo.problem}` };
  const repoValue = repo.value as { path?: unknown };
  if (typeof repoValue.path === 'string') repoValue.path = resolvePath(options.projectDir, repoValue.path);
  const value = {
    sop: trigger.sop,
    ...(options.task !== undefined ? { task: options.task } : {}),
    repo: repoValue,
    input: input.value,
    ...(trigger.params ? { params: trigger.params } : {}),
    ...(trigger.priority !== undefined ? { priority: trigger.priority } : {}),
  };
  const parsed = parseRunRequest(value);
  return 'problem' in parsed ? { problem: `${where}: ${parsed.problem}` } : parsed;
}

type Rendered = { value: unknown } | { problem: string };

/** Templates in every string of `value` rendered over `scope`, or one line naming the first that has no value (`at` names where). */
export function renderValue(value: unknown, scope: Record<string, unknown>, at: string): Rendered {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) {
      const found = lookup(scope, whole[1]);
      return found === undefined ? missing(at, whole[1]) : { value: found };
    }
    let problem: string | undefined;
    const text = value.replace(ANY, (_, path: string) => {
      const found = lookup(scope, path);
      if (found === undefined) problem ??= missing(at, path).problem;
      return typeof found === 'string' ? found : JSON.stringify(found);
    });
    return problem ? { problem } : { value: text };
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const [i, v] of value.entries()) {
      const r = renderValue(v, scope, `${at}.${i}`);
      if ('problem' in r) return r;
      out.push(r.value);
    }
    return { value: out };
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = renderValue(v, scope, `${at}.${k}`);
      if ('problem' in r) return r;
      out[k] = r.value;
    }
    return { value: out };
  }
  return { value };
}

function missing(at: string, path: string): { problem: string } {
  return {
    problem: `${at}: {{ ${path} }} has no value in this ${path.split('.')[0]}; fix the template or send a payload that has it`,
  };
}

/** `base` + a relative POSIX path, without node:path (workflow code); absolute paths are kept. */
function resolvePath(base: string, relative: string): string {
  if (/^(\/|[A-Za-z]:[\\/])/.test(relative)) return relative;
  const parts = base.split('/');
  for (const part of relative.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length > 1) parts.pop();
    } else parts.push(part);
  }
  return parts.join('/') || '/';
}
