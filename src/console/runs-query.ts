// The runs page's filters as one Temporal visibility query: only search attributes (SopName, SopStatus,
// SopTaskId, SopParent, SopKind and Temporal's own ParentWorkflowId, TemporalScheduledById), never a history,
// so a page of thousands of runs costs one list and one count call.
import { z } from 'zod';
import { NOT_A_CHILD_RUN, NOT_A_TEST_RUN, statusClause } from '../client/sop-client';
import { SOP_STATUSES } from '../temporal/search-attributes';
import { SENSOR_WORKFLOW_PREFIX } from './trigger-kinds';

export const RUN_TRIGGERS = ['manual', 'schedule', 'webhook', 'poll', 'event', 'child'] as const;
type RunTrigger = (typeof RUN_TRIGGERS)[number];

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
/** Text a filter compares with: no quotes or backslashes (the query quotes it; they have no use in an id). */
const optionalText = z.preprocess(
  blankToUndefined,
  z
    .string()
    .trim()
    .max(200)
    .regex(/^[^"'\\]*$/, { error: 'quotes and backslashes are not part of any name or id' })
    .optional(),
);

/** The runs page's query string; a bad value is refused naming the field. */
export const RunsFilterSchema = z.object({
  sop: optionalText,
  status: z.preprocess(blankToUndefined, z.enum(SOP_STATUSES).optional()),
  trigger: z.preprocess(blankToUndefined, z.enum(RUN_TRIGGERS).optional()),
  parent: optionalText,
  /** the start of a task id or workflow id */
  q: optionalText,
  /** also runs of `sop test` and child runs of `kind: sop` steps */
  all: z.preprocess(blankToUndefined, z.enum(['1']).optional()),
  /** the page token of the next page */
  page: z.preprocess(blankToUndefined, z.string().max(4096).optional()),
});
export type RunsFilter = z.infer<typeof RunsFilterSchema>;

const quote = (text: string) => JSON.stringify(text);

/** `hooks`: the webhooks `sop serve` serves (a webhook run's task id is `<hook>-<delivery>`). */
export function runsQuery(filter: RunsFilter, hooks: readonly string[]): string {
  const clauses = ['SopName IS NOT NULL', 'ExecutionStatus != "ContinuedAsNew"'];
  if (filter.sop) clauses.push(`SopName = ${quote(filter.sop)}`);
  if (filter.status) clauses.push(statusClause(filter.status));
  if (filter.parent) clauses.push(`SopParent = ${quote(filter.parent)}`);
  if (filter.q)
    clauses.push(`(SopTaskId STARTS_WITH ${quote(filter.q)} OR WorkflowId STARTS_WITH ${quote(filter.q)})`);
  if (filter.trigger) clauses.push(triggerClause(filter.trigger, hooks));
  const showsChildren = filter.all || filter.parent || filter.trigger === 'child';
  if (!showsChildren) clauses.push(NOT_A_CHILD_RUN);
  if (!filter.all) clauses.push(NOT_A_TEST_RUN);
  return clauses.join(' AND ');
}

function webhookClause(hooks: readonly string[]): string {
  if (hooks.length === 0) return 'SopTaskId = ""';
  return `(${hooks.map((h) => `SopTaskId STARTS_WITH ${quote(`${h}-`)}`).join(' OR ')})`;
}

function triggerClause(trigger: RunTrigger, hooks: readonly string[]): string {
  switch (trigger) {
    case 'schedule':
      return 'TemporalScheduledById IS NOT NULL';
    case 'poll':
      return `ParentWorkflowId STARTS_WITH ${quote(SENSOR_WORKFLOW_PREFIX)}`;
    case 'webhook':
      return `${webhookClause(hooks)} AND ParentWorkflowId IS NULL AND SopParent IS NULL`;
    case 'event':
      return 'SopParent IS NOT NULL AND ParentWorkflowId IS NULL';
    case 'child':
      return 'SopParent IS NOT NULL AND ParentWorkflowId IS NOT NULL';
    case 'manual': {
      const notHook = hooks.map((h) => ` AND SopTaskId NOT STARTS_WITH ${quote(`${h}-`)}`).join('');
      return `TemporalScheduledById IS NULL AND ParentWorkflowId IS NULL AND SopParent IS NULL${notHook}`;
    }
  }
}
