// Agent profiles (`agents:`): the profile a step or role names is declared.

import { suggest } from '../../shapes/diagnostics';
import type { KeyPath } from '../yaml-source';
import type { CheckContext } from './context';

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
