// Named agent profiles: `agents:` (in sop.yaml, or project-wide in sop.config.yaml) holds harness settings
// once; a step or role says `agent: NAME` and takes each field of the profile it does not set itself. The
// compiler folds the profiles into the steps before checking them, so the plan (and every later stage)
// sees resolved steps; a problem in a field a step took from a profile is reported where the profile
// declares it.

import { stepKind } from './normalize';
import type { AgentProfile, SopFile, SopRole, SopStep } from './schema';
import type { KeyPath, SourceFile } from './yaml-source';

/** The fields a profile gives; `description` documents the profile only. */
const PROFILE_FIELDS = ['provider', 'model', 'effort', 'policy', 'tools', 'skills', 'session'] as const;
type ProfileField = (typeof PROFILE_FIELDS)[number];
/** What a produce_verify step takes at step level (its roles inherit it); the rest goes to each role. */
const STEP_LEVEL: ReadonlyArray<ProfileField> = ['provider', 'model', 'effort', 'policy', 'tools', 'skills'];

type Fields = Partial<Record<ProfileField, unknown>>;

export interface ResolvedProfiles {
  sop: SopFile;
  /** where a field taken from a profile is written: resolved key path → the profile's key path */
  moved: Map<string, KeyPath>;
}

/**
 * The SOP with every `agent:` folded in (a name `agents:` does not declare is left for the checks to report,
 * SOP270). `ownProfiles`: the profiles sop.yaml declares itself (the others come from sop.config.yaml, whose
 * problems are reported at the step's `agent:` key).
 */
export function resolveProfiles(sop: SopFile, ownProfiles: ReadonlySet<string>): ResolvedProfiles {
  const profiles = sop.agents ?? {};
  const moved = new Map<string, KeyPath>();
  if (!Object.values(sop.steps).some(usesProfile)) return { sop, moved };
  const take = (
    target: Fields,
    name: string | undefined,
    fields: ReadonlyArray<ProfileField>,
    at: KeyPath,
    agentAt: KeyPath,
  ) => {
    const profile: AgentProfile | undefined = name === undefined ? undefined : profiles[name];
    if (!profile) return;
    for (const field of fields) {
      if (target[field] !== undefined || profile[field] === undefined) continue;
      target[field] = structuredClone(profile[field]);
      moved.set(key([...at, field]), ownProfiles.has(name!) ? ['agents', name!, field] : agentAt);
    }
  };
  const steps: Record<string, SopStep> = {};
  for (const [name, original] of Object.entries(sop.steps)) {
    const step: SopStep = { ...original };
    const at = ['steps', name];
    const kind = stepKind(step);
    if (kind === 'agent') take(step, step.agent, PROFILE_FIELDS, at, [...at, 'agent']);
    if (kind === 'produce_verify') {
      take(step, step.agent, STEP_LEVEL, at, [...at, 'agent']);
      for (const which of ['producer', 'verifier'] as const) {
        if (!step[which]) continue;
        const role: SopRole = { ...step[which] };
        const roleAt = [...at, which];
        take(role, role.agent, PROFILE_FIELDS, roleAt, [...roleAt, 'agent']);
        // the step's profile gives a role what the step level cannot hold (its session)
        const rest = PROFILE_FIELDS.filter((f) => !STEP_LEVEL.includes(f));
        take(role, step.agent, rest, roleAt, [...at, 'agent']);
        step[which] = role;
      }
    }
    steps[name] = step;
  }
  return { sop: { ...sop, steps }, moved };
}

function usesProfile(step: SopStep): boolean {
  return step.agent !== undefined || step.producer?.agent !== undefined || step.verifier?.agent !== undefined;
}

const key = (path: KeyPath) => path.join('\u0000');

/** The source with its diagnostics for profile-given fields pointed at the profile. */
export function locateInProfiles(source: SourceFile, moved: Map<string, KeyPath>): SourceFile {
  if (moved.size === 0) return source;
  return {
    ...source,
    locate: (path, options) => {
      for (let n = path.length; n > 0; n--) {
        const target = moved.get(key(path.slice(0, n)));
        if (target) return source.locate([...target, ...path.slice(n)], options);
      }
      return source.locate(path, options);
    },
  };
}

/** The profile a role ran with, for `sop workflows show`: the role's own `agent:`, else its step's. */
export function profileOf(step: SopStep, which: 'agent' | 'producer' | 'verifier'): string | undefined {
  return which === 'agent' ? step.agent : (step[which]?.agent ?? step.agent);
}
