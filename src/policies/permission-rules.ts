// The permission-rule forms a step policy may use (`ask:`, `allow_commands:`), checked against what the
// pinned Claude Code (2.1.330) honours. Claude Code ignores a rule it does not match without a word
// (`Write(migrations/**)` asks nobody: only Edit(path) rules are matched against file edits), so every rule
// is checked here, before a run starts, and the ones that stand for another are translated.
//
// Verified with the real binary (test/harnesses/ask-rules.e2e.test.ts) in the sessions the adapter starts, whose
// tools are Bash, Read, Edit, Write, NotebookEdit (+ WebFetch and WebSearch with network: open) and agent
// tools (Task, Skill, ...); there is no Glob, Grep or LS tool (searches run as Bash commands):
// - `Edit(path)` asks about every file-edit tool (Edit, Write, NotebookEdit) under the path; `Write(path)`,
//   `NotebookEdit(path)` and `MultiEdit(path)` ask about nothing. A bare `Edit` or `Write` asks about that
//   one tool only.
// - `Read(path)` and a bare `Read` ask about the Read tool.
// - `Bash`, `Bash(prefix:*)`, `Bash(exact command)` and `Bash(pattern with *)` ask about matching commands.
// - A path is matched against the working directory (the workspace) when it is written `dir/**` or
//   `./dir/**`; `/dir/**` is taken relative to the settings file (asks about nothing in the workspace),
//   `//dir` is absolute, `~/dir` the home folder.
// - `WebFetch(domain:host)` and `WebSearch` ask (the tools exist with network: open only).
// - `mcp__server__tool` asks about that tool of a step's MCP server (`tools:`); a rule naming a tool the step
//   does not allow is refused where the step is known (sop validate, launch): the call is denied unasked.

/** Refused: bypassPermissions is not shown to ask. */
export const ASK_WITH_BYPASS =
  'ask: with permission_mode bypass: bypass approves calls without asking, and that it still asks about ask: rules is not verified with Claude Code 2.1.330 (it refuses bypass as root); use accept_edits or dont_ask';

/** What one `ask:` rule becomes: the rule Claude Code is given, and the original when it was translated. */
export type AskRule = { ok: true; rule: string; from?: string } | { ok: false; problem: string };

const FILE_EDIT_TOOLS = new Set(['Edit', 'Write', 'NotebookEdit', 'MultiEdit']);
const SUPPORTED =
  'Bash(command prefix:*), Edit(path glob), Read(path glob), WebFetch(domain:host), WebSearch or mcp__server__tool';
/** Tools a rule may name that the step's Claude Code sessions do not have, with what to write instead. */
const NO_SUCH_TOOL: Record<string, string> = {
  Glob: 'Read(path glob) for reads through the Read tool, Bash(find:*) for the shell',
  Grep: 'Read(path glob) for reads through the Read tool, Bash(grep:*) for the shell',
  LS: 'Bash(ls:*)',
  NotebookRead: 'Read(path glob)',
};

/** Splits `Tool(content)`; undefined when the text is not a rule at all. */
function parseRule(text: string): { tool: string; content?: string } | undefined {
  const m = /^([A-Za-z_][\w-]*)(?:\((.*)\))?$/s.exec(text.trim());
  if (!m) return undefined;
  // `Tool(*)` is the bare tool name to Claude Code
  return { tool: m[1], content: m[2] === '*' ? undefined : m[2] };
}

/** Why a path pattern would not match in the workspace, with the form to use; undefined when it is fine. */
function pathProblem(tool: string, content: string): string | undefined {
  if (content.trim() === '') return `${tool}() names no path: write ${tool}(path glob), e.g. ${tool}(src/**)`;
  if (content.includes(':*'))
    return `the :* prefix syntax is for Bash rules only: write a path glob, e.g. ${tool}(${content.replace(/:\*$/, '/**')})`;
  const bare = content.replace(/^\/+/, '').replace(/^~\/?/, '');
  if (content.startsWith('/'))
    return `Claude Code reads "${content}" relative to its settings file (//path is absolute), not the workspace: write it relative to the workspace, ${tool}(${bare || '**'})`;
  if (content.startsWith('~'))
    return `"${content}" is in the home folder, outside the workspace: ask rules name workspace paths, e.g. ${tool}(src/**)`;
  if (content.split(/[\\/]+/).includes('..'))
    return `"${content}" leaves the workspace: ask rules name workspace paths, e.g. ${tool}(src/**)`;
  return undefined;
}

/**
 * Checks one `ask:` rule: the rule Claude Code will be given (a file-edit rule written with another tool's
 * name is translated to Edit(path)), or the problem, naming the form to use.
 */
export function checkAskRule(text: string): AskRule {
  if (text.trim().startsWith('mcp__')) {
    if (/^mcp__[a-z][a-z0-9_-]*?__[A-Za-z0-9_-]+$/.test(text)) return { ok: true, rule: text };
    return {
      ok: false,
      problem: `MCP rules name one tool of a step's server, no pattern: write mcp__<server>__<tool>, e.g. mcp__tracker__add_comment`,
    };
  }
  const parsed = parseRule(text);
  if (!parsed)
    return { ok: false, problem: `not a permission rule: write Tool or Tool(pattern), e.g. ${SUPPORTED}` };
  const { tool, content } = parsed;
  if (content === '') return { ok: false, problem: `empty parentheses: write ${tool} or ${tool}(pattern)` };
  if (FILE_EDIT_TOOLS.has(tool)) {
    // a bare Edit or Write asks about that one tool only; Edit(**) asks about every file edit
    const target = `Edit(${content ?? '**'})`;
    const problem = content === undefined ? undefined : pathProblem('Edit', content);
    if (problem) return { ok: false, problem };
    return target === text ? { ok: true, rule: text } : { ok: true, rule: target, from: text };
  }
  if (tool === 'Read') {
    const problem = content === undefined ? undefined : pathProblem(tool, content);
    return problem ? { ok: false, problem } : { ok: true, rule: text };
  }
  if (tool === 'Bash') {
    const problem = content === undefined ? undefined : bashProblem(content);
    return problem ? { ok: false, problem } : { ok: true, rule: text };
  }
  if (tool === 'WebFetch') {
    if (content !== undefined && !/^domain:[^\s/:]+$/.test(content))
      return {
        ok: false,
        problem: `WebFetch rules name a host, not a URL: write WebFetch(domain:${hostOf(content)})`,
      };
    return { ok: true, rule: text };
  }
  if (tool === 'WebSearch') {
    if (content !== undefined && /[*?]/.test(content))
      return { ok: false, problem: 'WebSearch rules take exact search words, no * or ?: write WebSearch' };
    return { ok: true, rule: text };
  }
  if (tool in NO_SUCH_TOOL)
    return {
      ok: false,
      problem: `Claude Code 2.1.330 gives a step no ${tool} tool (searches run as shell commands): write ${NO_SUCH_TOOL[tool]}`,
    };
  const known = [...FILE_EDIT_TOOLS, 'Read', 'Bash', 'WebFetch', 'WebSearch'].find(
    (t) => t.toLowerCase() === tool.toLowerCase(),
  );
  return {
    ok: false,
    problem: known
      ? `tool names are case-sensitive: write ${known}${content === undefined ? '' : `(${content})`}`
      : `ask rules name Bash, Edit (Write, NotebookEdit), Read, WebFetch or WebSearch, the tools tested with Claude Code 2.1.330, not ${tool}: write ${SUPPORTED}`,
  };
}

function bashProblem(content: string): string | undefined {
  const colon = content.indexOf(':*');
  if (colon >= 0 && colon !== content.length - 2)
    return `:* means "any arguments" only at the end: write Bash(${content.replace(/:\*/g, ' *')}) for a wildcard, or end the prefix with :*`;
  const prefix = colon >= 0 ? content.slice(0, colon) : undefined;
  if (prefix !== undefined && prefix.trim() === '')
    return 'Bash(:*) has no command prefix: write Bash for every command, or Bash(git push:*)';
  if (prefix?.includes('*'))
    return `Claude Code reads a * before :* literally: for a wildcard write Bash(${prefix.trim()} *)`;
  return undefined;
}

function hostOf(content: string): string {
  const stripped = content.replace(/^domain:/, '');
  try {
    return new URL(stripped.includes('://') ? stripped : `http://${stripped}`).hostname || 'example.com';
  } catch {
    return 'example.com';
  }
}

/**
 * Checks one `allow_commands:` entry, a command prefix the adapter turns into `Bash(<prefix>:*)`; the
 * problem (naming the form to use), or undefined when it is fine.
 */
export function allowCommandProblem(command: string): string | undefined {
  const trimmed = command.trim();
  const asRule = /^Bash\((.*)\)$/s.exec(trimmed);
  if (asRule)
    return `allow_commands takes the command itself, not a rule: write ${asRule[1].replace(/:\*$/, '').trim() || 'the command'} (it becomes ${trimmed.endsWith(':*)') ? trimmed : `Bash(${asRule[1]}:*)`})`;
  if (trimmed.endsWith(':*'))
    return `allow_commands adds the :* itself: write ${trimmed.slice(0, -2).trim()} (it becomes Bash(${trimmed}))`;
  if (trimmed.includes('*'))
    return `Claude Code reads a * in a command prefix literally, so "${trimmed}" would allow only commands with a literal *: write the fixed start of the command, e.g. ${trimmed.split('*')[0].trim() || 'npm test'}`;
  if (trimmed === '') return 'an empty command: write the start of a command, e.g. npm test';
  return undefined;
}

/** Every problem of a policy's rules, by key and index (for diagnostics and the launch-time check). */
export function ruleProblems(policy: {
  ask?: string[];
  allow_commands?: string[];
}): Array<{ key: 'ask' | 'allow_commands'; index: number; value: string; problem: string }> {
  const out: Array<{ key: 'ask' | 'allow_commands'; index: number; value: string; problem: string }> = [];
  (policy.ask ?? []).forEach((value, index) => {
    const checked = checkAskRule(value);
    if (!checked.ok) out.push({ key: 'ask', index, value, problem: checked.problem });
  });
  (policy.allow_commands ?? []).forEach((value, index) => {
    const problem = allowCommandProblem(value);
    if (problem) out.push({ key: 'allow_commands', index, value, problem });
  });
  return out;
}
