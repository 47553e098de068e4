// An SOP regression test (`<sop>/tests/<name>.yaml`): the scripted model's replies, the run's input, the
// repository it starts from, and what the run must do. The zod schema is the format's single definition.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { issueLines, loadScenario, parseScenario, type Scenario } from '../scripted-model/scenario';
import { parseYamlText } from '../sop/yaml-source';

/** `path/to/file` or `/regex/flags`: how an artifact's content is checked. */
const ArtifactExpectation = z.strictObject({
  exists: z.boolean().default(true).describe('false: the file must not exist'),
  contains: z.string().optional().describe('a substring the file must contain'),
  matches: z
    .string()
    .regex(/^\/.*\/[a-z]*$/s, 'write the regular expression as "/.../flags"')
    .optional()
    .describe('a regular expression the file must match'),
});

const RouteName = z
  .string()
  .regex(/^[^:\s]+(:[^:\s]+)?:[^:\s]+$/, 'write a route as step:route or step:item:route');

const Count = z.union([
  z.number().int().min(0),
  z.strictObject({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() }),
]);

export const TestExpect = z.strictObject({
  status: z.enum(['completed', 'failed']).default('completed'),
  /** a substring of the run's failure message (failed runs) */
  failure: z.string().min(1).optional(),
  /**
   * `step:route` or `step:item:route`, in the order the run took them; a nested list is a group taken in
   * any order (parallel branches, concurrent items)
   */
  routes: z.array(z.union([RouteName, z.array(RouteName).min(1)])).optional(),
  /** keys: an artifact name of the SOP, or a workspace-relative path ({{ run.folder }} allowed) */
  artifacts: z.record(z.string().min(1), ArtifactExpectation).optional(),
  /** workspace-relative files added, modified or deleted by the run (outside .sop/ and .git/), in any order */
  files_changed: z.array(z.string().min(1)).optional(),
  agent_runs: Count.optional(),
  budget: z
    .strictObject({
      max_tokens: z.number().int().min(0).optional(),
      max_usd: z.number().min(0).optional(),
    })
    .optional(),
});
export type TestExpect = z.infer<typeof TestExpect>;

export const RepoSource = z.union([
  z
    .string()
    .min(1)
    .describe('a folder, relative to the test file: copied and committed into a fresh git repository'),
  z.strictObject({
    git: z.string().min(1).describe('a git repository (path relative to the test file, or a URL)'),
    ref: z.string().min(1).default('HEAD').describe('the commit, branch or tag to check out'),
  }),
]);
export type RepoSource = z.infer<typeof RepoSource>;

export const TestSpec = z.strictObject({
  description: z.string().optional(),
  /** a scenario file (relative to the test file) or the scenario inline (checked by parseScenario) */
  scenario: z.union([z.string().min(1), z.record(z.string(), z.unknown())], {
    error: 'scenario must be a file name (relative to the test file) or a scenario mapping (usage, rules)',
  }),
  input: z.record(z.string(), z.unknown()).default({}),
  params: z.record(z.string(), z.unknown()).default({}),
  provider: z.enum(['codex', 'claude']).optional(),
  repo: RepoSource,
  expect: TestExpect,
});
export type TestSpec = z.infer<typeof TestSpec>;

export interface SopTest {
  sop: string;
  /** the test's name: its file name without .yaml */
  name: string;
  file: string;
  spec: TestSpec;
  scenario: Scenario;
}

/** The test files of an SOP folder: `tests/*.yaml` (scenario files live in sub-folders, e.g. tests/scenarios/). */
export function testFiles(sopDir: string): string[] {
  const dir = path.join(sopDir, 'tests');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/** Reads and checks one test file; every problem names the file and the field. */
export function loadTest(sop: string, file: string): SopTest {
  let data: unknown;
  try {
    // coded and located YAML errors, like an SOP's
    data = parseYamlText(fs.readFileSync(file, 'utf8'), file);
  } catch (err) {
    throw new Error(`test ${file}: ${(err as Error).message}`);
  }
  const parsed = TestSpec.safeParse(data);
  if (!parsed.success) throw new Error(`test ${file}: ${issueLines(parsed.error.issues).join('; ')}`);
  const spec = parsed.data;
  let scenario: Scenario;
  if (typeof spec.scenario === 'string') {
    const scenarioFile = path.resolve(path.dirname(file), spec.scenario);
    try {
      scenario = loadScenario(scenarioFile);
    } catch (err) {
      throw new Error(`test ${file}: ${(err as Error).message}`);
    }
  } else {
    scenario = parseScenario(spec.scenario, `test ${file}: scenario`);
  }
  for (const [key, expectation] of Object.entries(spec.expect.artifacts ?? {})) {
    if (expectation.matches) {
      try {
        regexOf(expectation.matches);
      } catch (err) {
        throw new Error(`test ${file}: expect.artifacts.${key}.matches: ${(err as Error).message}`);
      }
    }
  }
  return { sop, name: path.basename(file).replace(/\.ya?ml$/, ''), file, spec, scenario };
}

export function regexOf(literal: string): RegExp {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(literal);
  if (!m) throw new Error(`"${literal}" is not written as /.../flags`);
  return new RegExp(m[1], m[2]);
}
