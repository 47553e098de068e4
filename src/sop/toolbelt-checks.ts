// The checks of an SOP's secrets (`secrets:`, `${{ secrets.NAME }}`) and skills (`skills:` on a step or
// role, folders skills/<name>/ beside sop.yaml). Skill files are loaded into the bundle here.

import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { secretReferences } from '../policies/secrets';
import { type DiagnosticCode, suggest } from '../shapes/diagnostics';
import type { SkillSpec } from '../shapes/execution-plan';
import { roleOf, stepRoles } from './normalize';
import type { SopFile } from './schema';
import { visitStrings } from './trigger-checks';
import type { KeyPath } from './yaml-source';

/** What the skill checks read of the SOP folder (checks.ts's FileAccess is one). */
interface SkillFiles {
  display(relative: string): string;
  list?(relative: string): Record<string, Buffer> | undefined;
}

type Report = (code: DiagnosticCode, message: string, at: KeyPath, key?: boolean, hint?: string) => void;

/** A skill's folder in the bundle: skills/<name>/... */
export const SKILLS_FOLDER = 'skills';
/** The most a skill folder may hold (its files travel with the run's plan). */
const SKILL_LIMITS = { bytes: 256 * 1024, files: 100 };

/** Every `${{ secrets.NAME }}`: declared, and only in a stdio server's env: or a command step's env:. */
export function checkSecrets(sop: SopFile, report: Report): void {
  const declared = sop.secrets ?? [];
  const allowed = (at: KeyPath) =>
    (at[0] === 'mcp_servers' &&
      at[2] === 'env' &&
      at.length === 4 &&
      'command' in (sop.mcp_servers?.[String(at[1])] ?? {})) ||
    (at[0] === 'steps' && at[2] === 'env' && at.length === 4);
  visitStrings(sop, [], (text, at) => {
    for (const { name } of secretReferences(text)) {
      if (!allowed(at)) {
        report(
          'SOP291',
          `\${{ secrets.${name} }} is not allowed here: only in a stdio tool server's env: or a command step's env:`,
          at,
        );
        continue;
      }
      if (!declared.includes(name))
        report(
          'SOP290',
          `secret "${name}" is not declared under secrets:`,
          at,
          false,
          suggest(name, declared),
        );
    }
  });
}

/** The sha256 over a skill's files (path and content, in path order). */
export function skillHash(files: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(files).sort()) hash.update(`${name}\0${files[name]}\0`);
  return hash.digest('hex');
}

/** The problem with a skill folder's files, or undefined. */
function skillProblem(files: Record<string, Buffer>): string | undefined {
  const names = Object.keys(files);
  if (!names.includes('SKILL.md')) return 'it has no SKILL.md';
  if (names.length > SKILL_LIMITS.files) return `it has ${names.length} files; at most ${SKILL_LIMITS.files}`;
  const bytes = names.reduce((n, f) => n + files[f].length, 0);
  if (bytes > SKILL_LIMITS.bytes) return `it holds ${bytes} bytes; at most ${SKILL_LIMITS.bytes}`;
  const binary = names.find((f) => files[f].includes(0) || !isUtf8(files[f]));
  if (binary) return `${binary} is not a text file`;
  const front = /^---\r?\n([\s\S]*?)\r?\n---/.exec(files['SKILL.md'].toString('utf8'));
  let meta: Record<string, unknown> | undefined;
  try {
    meta = front ? (parseYaml(front[1]) as Record<string, unknown>) : undefined;
  } catch {
    meta = undefined;
  }
  if (!meta || typeof meta.name !== 'string' || typeof meta.description !== 'string')
    return 'SKILL.md does not start with front matter naming it (---, name:, description:, ---)';
  return undefined;
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Each step's and role's `skills:` names a usable folder skills/<name>/; its files go into the bundle. */
export function checkSkills(
  sop: SopFile,
  files: SkillFiles,
  report: Report,
  loaded: Record<string, string>,
): void {
  const available = () =>
    Object.keys(files.list?.(SKILLS_FOLDER) ?? {})
      .map((f) => f.split('/')[0])
      .filter((n, i, all) => all.indexOf(n) === i);
  const checked = new Map<string, boolean>();
  const check = (name: string, at: KeyPath) => {
    if (!checked.has(name)) {
      const folder = `${SKILLS_FOLDER}/${name}`;
      const found = files.list?.(folder);
      if (!found || Object.keys(found).length === 0) {
        report(
          'SOP292',
          `skill "${name}" does not exist: there is no ${files.display(`${folder}/SKILL.md`)}`,
          at,
          false,
          suggest(name, available()),
        );
        checked.set(name, false);
        return;
      }
      const problem = skillProblem(found);
      if (problem) report('SOP293', `skill "${name}" cannot be loaded: ${problem}`, at);
      else for (const [f, bytes] of Object.entries(found)) loaded[`${folder}/${f}`] = bytes.toString('utf8');
      checked.set(name, !problem);
    }
  };
  for (const [stepName, step] of Object.entries(sop.steps)) {
    for (const { role, keyPath } of stepRoles(step)) {
      const skills = roleOf(step, role).skills ?? [];
      const own = role !== 'agent' && step[role]?.skills !== undefined;
      for (const [i, name] of skills.entries())
        check(name, ['steps', stepName, ...(own ? keyPath : []), 'skills', i]);
    }
  }
}

/** The skills of the bundle files under skills/<name>/, for the plan. */
export function bundleSkills(bundleFiles: Record<string, string>, names: string[]): SkillSpec[] {
  return names.map((name) => {
    const prefix = `${SKILLS_FOLDER}/${name}/`;
    const files = Object.fromEntries(
      Object.entries(bundleFiles)
        .filter(([p]) => p.startsWith(prefix))
        .map(([p, text]) => [p.slice(prefix.length), text]),
    );
    return { name, sha256: skillHash(files), files };
  });
}
