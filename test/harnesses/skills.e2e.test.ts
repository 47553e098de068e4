import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execaSync } from 'execa';
import { outcomeSchema } from '../../src/activities/prompt';
import { ClaudeRunner } from '../../src/harnesses/claude';
import { CodexRunner } from '../../src/harnesses/codex';
import type { AgentExecution, AgentRunner } from '../../src/harnesses/runner';
import { stateDir } from '../../src/harnesses/state-dir';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import type { SkillSpec } from '../../src/shapes/execution-plan';
import { skillHash } from '../../src/sop/toolbelt-checks';

// Skills through the real codex and claude binaries against the scripted model, which keeps every request
// body: a step that loads a skill gives the model the skill's name and description; the next step, in the
// same session slot's home, loads none, and the model is given nothing of it. Skills the repository
// carries (.agents/skills, .codex/skills, .claude/skills) and the harness's bundled skills are never given.

const DESCRIPTION = 'Paints zebra stripes on release notes (skill-canary-7731)';
const files = {
  'SKILL.md': `---\nname: zebra-notes\ndescription: ${DESCRIPTION}\n---\n\nWrite each note in black and white.\n`,
  'reference/palette.md': 'black, white\n',
};
const skill: SkillSpec = { name: 'zebra-notes', sha256: skillHash(files), files };

let server: ModelServer;
beforeAll(async () => {
  server = await startModelServer(
    {
      rules: ['With the skill.', 'Without the skill.'].map((match) => ({
        match,
        runs: [[{ final: { route: 'done', summary: 'done', details: '' } }]],
      })),
    },
    { recordBodies: true },
  );
});
afterAll(() => server.close());

type Harness = 'codex' | 'claude';
const runners: Record<Harness, () => AgentRunner> = {
  codex: () => new CodexRunner({ baseUrl: `${server.url}/v1` }),
  claude: () => new ClaudeRunner({ baseUrl: server.url }),
};

describe.each<Harness>(['codex', 'claude'])('%s (real binary)', (harness) => {
  test("a step's skill is given to the model, with its hash in the evidence; the next step without it is given nothing of it; the repository's and the harness's bundled skills are never given", async () => {
    const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `sop-skills-${harness}-`)));
    execaSync('git', ['init', '-q'], { cwd: ws });
    // skills the repository carries where each harness would look for them: not named, not given
    for (const where of ['.agents/skills', '.codex/skills', '.claude/skills']) {
      const dir = path.join(ws, where, 'repo-skill');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'SKILL.md'),
        `---\nname: repo-skill\ndescription: repo skill in ${where}\n---\n`,
      );
    }
    // one session slot's home for both steps: the first step's skill must not stay behind in it
    const home = fs.mkdtempSync(path.join(stateDir(), `skills-slot-${harness}-`));
    const launch = async (prompt: string, skills?: SkillSpec[]) => {
      const executionDir = path.join(ws, '.sop', 'runs', 's', 't', 'steps', prompt.length.toString());
      fs.mkdirSync(executionDir, { recursive: true });
      const execution: AgentExecution = {
        request: {} as AgentExecution['request'],
        spec: {
          prompt,
          promptFile: 'p.md',
          writes: [],
          policy: { sandbox: 'read-only' },
          provider: harness,
          ...(skills ? { skills } : {}),
        },
        prompt,
        outcomeSchema: outcomeSchema(['done']),
        workspace: ws,
        executionDir,
        transcriptPath: path.join(executionDir, 'transcript.jsonl'),
        signal: new AbortController().signal,
        heartbeat: () => {},
        session: { slot: 'step:x', home },
      };
      const result = await runners[harness]().run(execution);
      const api = harness === 'codex' ? 'responses' : 'messages';
      const bodies = server.requests
        .filter((r) => r.api === api && r.userTexts?.some((t) => t.includes(prompt)))
        .map((r) => r.body ?? '');
      return { result, given: bodies.join('\n'), count: bodies.length };
    };
    try {
      const first = await launch('With the skill.', [skill]);
      expect(first.result.outcome?.route).toBe('done');
      expect(first.count).toBeGreaterThan(0);
      expect(first.given).toContain('zebra-notes');
      expect(first.given).toContain(DESCRIPTION);
      expect(first.given).not.toContain('repo skill in');
      // nor the harness's bundled skills (Codex: skill-creator, imagegen, ...)
      expect(first.given).not.toContain('skill-creator');
      expect(first.result.effectiveConfig).toMatchObject({
        skills: [{ name: 'zebra-notes', sha256: skill.sha256 }],
      });

      const second = await launch('Without the skill.');
      expect(second.result.outcome?.route).toBe('done');
      expect(second.count).toBeGreaterThan(0);
      expect(second.given).not.toContain('zebra-notes');
      expect(second.given).not.toContain('skill-canary-7731');
      expect(second.given).not.toContain('repo skill in');
      expect(second.given).not.toContain('skill-creator');
      expect(second.result.effectiveConfig).not.toHaveProperty('skills');
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);
});
