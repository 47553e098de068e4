// Agent profiles (`agents:`): the profile a step or role names is declared, and a profile's skills can be
// loaded by this version of the runtime.

import { suggest } from '../../shapes/diagnostics';
import { Step } from '../schema';
import type { KeyPath } from '../yaml-source';
import type { CheckContext } from './context';

/** A profile's skills go to the steps that take it; a runtime whose steps have no skills cannot load them. */
export function checkProfileSkills(ctx: CheckContext): void {
  if ('skills' in Step.shape) return;
  for (const [name, profile] of Object.entries(ctx.sop.agents ?? {}))
    if (profile.skills?.length)
      ctx.report(
        'SOP107',
        `profile "${name}" names skills, which this version of the runtime cannot load into a step`,
        ['agents', name, 'skills'],
        true,
      );
}

/** `agent:` at `at` (a step or a role) names a profile declared under agents:. */
export function checkProfile(ctx: CheckContext, name: string | undefined, at: KeyPath): void {
  const profiles = ctx.sop.agents ?? {};
  if (name !== undefined && !(name in profiles))
    ctx.report(
      'SOP270',
      `agent: names profile "${name}", which is not declared under agents:`,
      [...at, 'agent'],
      false,
      suggest(name, Object.keys(profiles)),
    );
}
