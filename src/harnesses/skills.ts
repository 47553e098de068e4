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

/** What the evidence records of a role's skills: each name and content hash. */
export function skillsRecord(skills: SkillSpec[] | undefined): Array<{ name: string; sha256: string }> {
  return (skills ?? []).map(({ name, sha256 }) => ({ name, sha256 }));
}
