// The scripted model's scenario format: which replies the model gives to which conversation. Used by the
// offline demo and the tests to drive the REAL harness binaries without model access.

import * as fs from 'node:fs';
import { z } from 'zod';
import { TASK_ID_CHARS } from '../shapes/names';
import { parseYamlText } from '../sop/yaml-source';

export const Reply = z.union([
  z.strictObject({ shell: z.string().min(1).describe('run a shell command') }),
  z.strictObject({
    write: z
      .strictObject({ path: z.string().min(1), content: z.string() })
      .describe('create or replace a file'),
  }),
  z.strictObject({ read: z.string().min(1).describe('read a file') }),
  z.strictObject({
    tool: z
      .strictObject({ name: z.string().min(1), input: z.record(z.string(), z.unknown()) })
      .describe(
        "call one of the harness's own tools by name (Claude Code: Edit, Grep, Glob, ...; Codex: a function), workspace-relative file_path/path/notebook_path made absolute",
      ),
  }),
  z.strictObject({
    mcp: z
      .strictObject({
        server: z.string().min(1),
        tool: z.string().min(1),
        arguments: z.record(z.string(), z.unknown()).optional(),
      })
      .describe("call a tool of one of the step's MCP servers (mcp__<server>__<tool> to both harnesses)"),
  }),
  z.strictObject({ message: z.string().describe('a plain final text answer') }),
  z.strictObject({ final: z.unknown().describe('the structured final answer (the step outcome)') }),
  z.strictObject({
    stall: z
      .strictObject({ ms: z.number().int().min(0) })
      .describe('accept the request, then send nothing for ms (a hung model stream)'),
  }),
  z.strictObject({
    wait: z
      .strictObject({ ms: z.number().int().min(0) })
      .describe(
        'not a model call: the next reply is sent ms after the harness asks for it (a model thinking between two tool calls)',
      ),
  }),
  z.strictObject({
    error: z.strictObject({
      status: z.number().int().min(400).max(599),
      body: z.unknown().optional(),
      headers: z.record(z.string(), z.string()).optional(),
    }),
  }),
]);
export type Reply = z.infer<typeof Reply>;

export const Rule = z.strictObject({
  /** a substring of the conversation's user text, or a regular expression written as "/.../flags" */
  match: z.string().min(1),
  /** runs[k] scripts the k-th conversation that matches (the last one repeats) */
  runs: z.array(z.array(Reply).min(1)).min(1),
});
export type Rule = z.infer<typeof Rule>;

export const Scenario = z.strictObject({
  /** tokens reported per model call, so usage and budgets can be exercised */
  usage: z.strictObject({ input: z.number().int().min(0), output: z.number().int().min(0) }).optional(),
  rules: z.array(Rule).min(1),
});
export type Scenario = z.infer<typeof Scenario>;

export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read scenario ${file}: ${(err as Error).message}`);
  }
  // coded and located, like an SOP's YAML errors
  const data = parseYamlText(text, file);
  return parseScenario(data, `scenario ${file}`);
}

/**
 * Checks a scenario (parsed YAML or an inline object of a test file); every problem is one line naming the
 * field (`rules.0.runs.1.2: ...`) and what it should be, prefixed with `source`.
 */
export function parseScenario(data: unknown, source: string): Scenario {
  const parsed = Scenario.safeParse(data);
  if (!parsed.success) throw new Error(`${source}: ${issueLines(parsed.error.issues).join('; ')}`);
  parsed.data.rules.forEach((rule, r) => {
    rule.runs.forEach((run, k) => {
      run.forEach((reply, n) => {
        const unknown = JSON.stringify(reply)
          .match(SOP_TEMPLATE)
          ?.find((t) => t.replace(RUN_FOLDER, '') !== '');
        if (unknown) {
          throw new Error(
            `${source}: rules.${r}.runs.${k}.${n}: unknown template ${unknown}; a reply can use {{ run.folder }} only (the run folder the prompt names)`,
          );
        }
      });
    });
    if (/^\/.*\/[a-z]*$/s.test(rule.match)) {
      try {
        ruleMatches(rule, '');
      } catch (err) {
        throw new Error(
          `${source}: rules.${r}.match: not a valid regular expression: ${(err as Error).message}`,
        );
      }
    }
  });
  parsed.data.rules.forEach((rule, r) => {
    rule.runs.forEach((run, k) => {
      if (run.every((reply) => 'wait' in reply))
        throw new Error(
          `${source}: rules.${r}.runs.${k}: only wait replies; a wait delays the reply after it, so a run needs at least one other reply`,
        );
    });
  });
  return parsed.data;
}

/**
 * The reply for the model call at `position` (waits are not model calls) and how long to hold it back: the
 * waits written right before it, summed.
 */
export function replyAt(replies: Reply[], position: number): { reply?: Reply; delayMs: number } {
  let calls = 0;
  let delayMs = 0;
  for (const reply of replies) {
    if ('wait' in reply) {
      delayMs += reply.wait.ms;
      continue;
    }
    if (calls === position) return { reply, delayMs };
    calls++;
    delayMs = 0;
  }
  return { delayMs: 0 };
}

const REPLY_KINDS = 'shell, write, read, tool, mcp, message, final, stall, wait or error';

/** One line per zod issue: the field path and what is wrong; a reply that fits no kind names the kinds. */
export function issueLines(
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code: string }>,
): string[] {
  return issues.map((issue) => {
    const at = issue.path.map(String).join('.') || '(top level)';
    if (issue.code === 'invalid_union' && /runs\.\d+\.\d+$/.test(at))
      return `${at}: a reply must be exactly one of ${REPLY_KINDS} (see the scenario example in docs/testing.md)`;
    return `${at}: ${issue.message}`;
  });
}

/** The one template a reply may use: the run folder, as in SOPs (`{{ run_folder }}` is the older spelling). */
export const RUN_FOLDER = /\{\{\s*run[._]folder\s*\}\}/g;
/**
 * A run folder as prompts name it, workspace-relative: `.sop/runs/<sop>/<task>`, the task id with every
 * character a task id may hold (a scheduled run's has the `:` of its fire time).
 */
export const RUN_FOLDER_PATH = new RegExp(`\\.sop/runs/[a-z][a-z0-9_-]*/[${TASK_ID_CHARS}]+`, 'g');
/** What looks like an SOP template (`{{ input.x }}`, `{{ item.id }}`, ...): the model server fills none but the run folder. */
const SOP_TEMPLATE = /\{\{\s*(?:run|input|params|item|steps?)[._][\w.]*\s*\}\}/g;

export function ruleMatches(rule: Rule, text: string): boolean {
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(rule.match);
  if (regex) return new RegExp(regex[1], regex[2]).test(text);
  return text.includes(rule.match);
}
