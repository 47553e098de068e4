import { checkEnv } from '../config/env';
import type { AgentRunners } from '../harnesses/runner';
import { createDeliverActivities, type DeliverActivityDeps } from './deliver';
import { createEmitActivities, type EmitActivityDeps } from './emit-event';
import { createInterpreterActivities } from './interpreter-activities';
import { pollSensor } from './poll';
import { quotaActivities } from './quotas';
import { createResolveActivities, type ResolveActivityDeps } from './resolve-run';
import { createReviewActivities, type ReviewActivityDeps } from './review-comments';
import * as smoke from './smoke';
import { reuseWindowMsDefault } from './snapshot-reuse';
import { walkBelowDefault } from './workspace-snapshot';
import { createWorkspaceActivities, type WorkspaceActivityDeps } from './workspaces';

export interface ActivityDeps
  extends ResolveActivityDeps,
    EmitActivityDeps,
    WorkspaceActivityDeps,
    DeliverActivityDeps,
    ReviewActivityDeps {
  /** harness adapters by provider: the worker wires the real ones (src/worker), a test its stand-ins */
  runners: AgentRunners;
}

/** Every activity the worker registers. Plain async functions; the workflow proxies them by name. */
export function createActivities(deps: ActivityDeps) {
  // a bad setting (e.g. SOP_AUDIT_WALK_BELOW) stops the worker at start, not every agent launch later
  walkBelowDefault();
  reuseWindowMsDefault();
  checkEnv(['worker', 'harness']);
  return {
    ...smoke,
    pollSensor,
    ...quotaActivities,
    ...createInterpreterActivities({ runners: deps.runners }),
    ...createResolveActivities(deps),
    ...createEmitActivities(deps),
    ...createWorkspaceActivities(deps),
    ...createDeliverActivities(deps),
    ...createReviewActivities(deps),
  };
}
