// A role's skills (`skills:`), installed into the harness's own skills folder inside the launch's
// hermetic home: Codex reads $CODEX_HOME/skills/<name>/SKILL.md, Claude Code $CLAUDE_CONFIG_DIR/skills/
// <name>/SKILL.md (with the user setting source on). Verified against Codex 0.169 and Claude Code 2.1.330:
// each skill's name and description reach the model (test/harnesses/skills.e2e.test.ts). The folder is
// emptied first: a session slot's home keeps its files between executions, and a skill of an earlier
// step must not stay loaded.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SkillSpec } from '../shapes/execution-plan';

/** Replaces the contents of `skillsDir` with exactly these skills. */
export function installSkills(skillsDir: string, skills: SkillSpec[] | undefined): void {
  fs.rmSync(skillsDir, { recursive: true, force: true });
  for (const skill of skills ?? []) {
    const root = path.join(skillsDir, skill.name);
    for (const [relative, text] of Object.entries(skill.files)) {
      const file = path.resolve(root, relative);
      if (!file.startsWith(`${root}${path.sep}`))
        throw new Error(`skill ${skill.name}: file ${relative} leaves the skill's folder`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    }
  }
}

/**
 * Codex gives the model more skills than its own folder's: its bundled ones (imagegen, skill-creator, ...)
 * and any a repository carries in .agents/skills or .codex/skills of the working folder or a folder above
 * it (verified against 0.169). `skills.bundled.enabled=false` drops the first, a `skills.config` entry with
 * `enabled=false` per SKILL.md found the others, so the step's skills are the only ones.
 */
export function codexSkillArgs(workspace: string): string[] {
  const found: string[] = [];
  const dirs: string[] = [];
  for (let dir = path.resolve(workspace); ; dir = path.dirname(dir)) {
    dirs.push(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const dir of dirs)
    for (const folder of ['.agents/skills', '.codex/skills']) {
      const root = path.join(dir, folder);
      let names: string[] = [];
      try {
        names = fs.readdirSync(root);
      } catch {
        continue;
      }
      for (const name of names) {
        const file = path.join(root, name, 'SKILL.md');
        if (fs.existsSync(file)) found.push(file);
      }
    }
  const entries = found.map((file) => `{path=${JSON.stringify(file)}, enabled=false}`);
  return [
    '-c',
    'skills.bundled.enabled=false',
    ...(entries.length > 0 ? ['-c', `skills.config=[${entries.join(', ')}]`] : []),
  ];
}

/** What the evidence records of a role's skills: each name and content hash. */
export function skillsRecord(skills: SkillSpec[] | undefined): Array<{ name: string; sha256: string }> {
  return (skills ?? []).map(({ name, sha256 }) => ({ name, sha256 }));
}
