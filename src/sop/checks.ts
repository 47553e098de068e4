// The cross-reference checks a schema cannot express: kinds, route targets, reachability, a way to
// finish, artifacts, worklists, policies, files and templates. Every problem is collected; none stops
// the others from being found. Each section lives in check/; this file runs them in order.

import type { Diagnostic } from '../shapes/diagnostics';
import { checkArtifactDeclarations, checkArtifactUse } from './check/artifacts';
import { type CheckContext, checkParamRef, createCheckContext, type FileAccess } from './check/context';
import { checkDeliveries } from './check/deliveries';
import { checkAfterCycles, checkReachability } from './check/graph';
import { checkDefaultPolicy, checkPoliciesAndServers } from './check/policies';
import { checkRoutes } from './check/routes';
import { checkStepDeclarations } from './check/steps';
import { checkStepTemplates, checkTriggerTemplates } from './check/templates';
import type { SopFile } from './schema';
import { checkSecrets, checkSkills } from './toolbelt-checks';
import type { SourceFile } from './yaml-source';

export type { FileAccess } from './check/context';

export interface CheckResult {
  diagnostics: Diagnostic[];
  /** prompt and schema texts by SOP-relative path */
  files: Record<string, string>;
}

export function checkSop(
  sop: SopFile,
  source: SourceFile,
  files: FileAccess,
  folderName?: string,
): CheckResult {
  const ctx = createCheckContext(sop, source, files);
  if (folderName && folderName !== sop.name) {
    ctx.report('SOP803', `the SOP is named "${sop.name}" but its folder is "${folderName}"`, ['name']);
  }
  checkDefaultCounts(ctx);
  checkPoliciesAndServers(ctx);
  const defaultPolicy = checkDefaultPolicy(ctx);
  checkArtifactDeclarations(ctx);
  checkStepDeclarations(ctx, defaultPolicy);
  checkRoutes(ctx);
  checkAfterCycles(ctx);
  // a misspelt target makes everything behind it unreachable: later sections report the cause, not the cascade
  const hasTargetErrors = ctx.out.some((d) => d.code === 'SOP202' || d.code === 'SOP212');
  checkReachability(ctx, hasTargetErrors);
  checkStepTemplates(ctx, hasTargetErrors);
  checkTriggerTemplates(ctx);
  checkDeliveries(ctx);
  checkArtifactUse(ctx);
  checkSecrets(ctx.sop, ctx.report);
  checkSkills(ctx.sop, ctx.files, ctx.report, ctx.loaded);
  return { diagnostics: ctx.out, files: ctx.loaded };
}

/** The defaults' counts that name params. */
function checkDefaultCounts(ctx: CheckContext): void {
  for (const key of ['max_rework', 'max_attempts', 'max_launch_failures'] as const)
    checkParamRef(ctx, ctx.sop.defaults?.[key], ['defaults', key]);
}
