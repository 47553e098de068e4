import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Mirrors temporal/search-attributes.txt, which start.sh registers on the dev server (a unit test keeps
// the two equal). Importable from workflow code: @temporalio/common is deterministic.
export const SopName = defineSearchAttributeKey('SopName', SearchAttributeType.KEYWORD);
export const SopStatus = defineSearchAttributeKey('SopStatus', SearchAttributeType.KEYWORD);
export const SopStep = defineSearchAttributeKey('SopStep', SearchAttributeType.KEYWORD);
export const SopTaskId = defineSearchAttributeKey('SopTaskId', SearchAttributeType.KEYWORD);
/** the workflow id of the run whose event started this one (events between SOPs) */
export const SopParent = defineSearchAttributeKey('SopParent', SearchAttributeType.KEYWORD);
/** what kind of run it is when not an ordinary one: `test` (a run of `sop test`); hidden by `sop runs list` */
export const SopKind = defineSearchAttributeKey('SopKind', SearchAttributeType.KEYWORD);

export const searchAttributeKeys = [SopName, SopStatus, SopStep, SopTaskId, SopParent, SopKind];

/** What `sop runs list --status` filters on: the SOP's own status while running, Temporal's once closed. */
export const SOP_STATUSES = [
  'running',
  'waiting_input',
  'completed',
  'failed',
  'cancelled',
  'terminated',
  'timed_out',
] as const;
