import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compilePolicy, PermissionRuleError, PolicyUnsupportedError } from '../../src/policies/compile';
import { allowCommandProblem, checkAskRule } from '../../src/policies/permission-rules';

// The rule forms a step may write, checked before launch against what Claude Code 2.1.330 honours (what
// each form asks about is shown with the real binary in test/harnesses/ask-rules.e2e.test.ts).

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-rules-'));

test.each([
  ['Bash(git push:*)', 'Bash(git push:*)'],
  ['Bash', 'Bash'],
  ['Bash(npm test)', 'Bash(npm test)'],
  ['Bash(git * main)', 'Bash(git * main)'],
  ['Edit(migrations/**)', 'Edit(migrations/**)'],
  ['Read(./secrets/**)', 'Read(./secrets/**)'],
  ['Read', 'Read'],
  ['WebFetch(domain:docs.example.com)', 'WebFetch(domain:docs.example.com)'],
  ['WebSearch', 'WebSearch'],
  ['mcp__tracker__add_comment', 'mcp__tracker__add_comment'],
])('%s is given to Claude Code as written', (rule, given) => {
  expect(checkAskRule(rule)).toEqual({ ok: true, rule: given });
});

test.each([
  ['Write(migrations/**)', 'Edit(migrations/**)'],
  ['NotebookEdit(notebooks/**)', 'Edit(notebooks/**)'],
  ['MultiEdit(src/**)', 'Edit(src/**)'],
  ['Write', 'Edit(**)'],
  ['Edit', 'Edit(**)'],
  ['Edit(*)', 'Edit(**)'],
])('%s, which Claude Code would not match against every file edit, is given as %s', (rule, given) => {
  expect(checkAskRule(rule)).toEqual({ ok: true, rule: given, from: rule });
});

test.each([
  [
    'Write(/migrations/**)',
    /relative to its settings file.*write it relative to the workspace, Edit\(migrations\/\*\*\)/,
  ],
  ['Read(~/.ssh/**)', /home folder, outside the workspace/],
  ['Edit(../other/**)', /leaves the workspace/],
  ['Edit(src:*)', /:\* prefix syntax is for Bash rules only: write a path glob, e\.g\. Edit\(src\/\*\*\)/],
  ['Bash(:*)', /no command prefix/],
  ['Bash(git:* push)', /only at the end: write Bash\(git \* push\)/],
  ['Bash(git * push:*)', /reads a \* before :\* literally: for a wildcard write Bash\(git \* push \*\)/],
  ['mcp__tracker__*', /MCP rules name one tool of a step's server, no pattern/],
  ['mcp__tracker', /write mcp__<server>__<tool>/],
  ['mcp__tracker__add_comment(1)', /write mcp__<server>__<tool>/],
  ['Glob(src/**)', /no Glob tool.*Bash\(find:\*\)/],
  ['Grep', /no Grep tool.*Bash\(grep:\*\)/],
  ['Task', /not Task: write Bash\(command prefix:\*\), Edit\(path glob\)/],
  ['bash(ls:*)', /case-sensitive: write Bash\(ls:\*\)/],
  ['WebFetch(https://example.com/a)', /write WebFetch\(domain:example\.com\)/],
  ['WebSearch(news*)', /no \* or \?/],
  ['Bash()', /empty parentheses/],
  ['git push', /not a permission rule/],
])('%s is refused, naming the form to use', (rule, problem) => {
  const checked = checkAskRule(rule);
  expect(checked.ok).toBe(false);
  expect(checked.ok === false && checked.problem).toMatch(problem);
});

test.each([
  [
    'Bash(npm test)',
    /takes the command itself, not a rule: write npm test \(it becomes Bash\(npm test:\*\)\)/,
  ],
  ['npm test:*', /adds the :\* itself: write npm test/],
  ['npm run *', /reads a \* in a command prefix literally.*e\.g\. npm run/],
])('allow_commands %s is refused, naming the form to use', (command, problem) => {
  expect(allowCommandProblem(command)).toMatch(problem);
});

test('allow_commands takes the start of a command', () => {
  expect(allowCommandProblem('npm test')).toBeUndefined();
  expect(allowCommandProblem('git status --short')).toBeUndefined();
});

describe('compilePolicy', () => {
  test('translated ask rules are what Claude Code is given, and the translation is recorded', () => {
    const compiled = compilePolicy(
      {
        sandbox: 'workspace-write',
        ask: ['Write(migrations/**)', 'Edit(migrations/**)', 'Bash(git push:*)'],
      },
      'claude',
      { workspace },
    );
    const permissions = (compiled.settings as { permissions: { ask: string[] } }).permissions;
    expect(permissions.ask).toEqual(['Edit(migrations/**)', 'Bash(git push:*)']);
    expect(compiled.effective.ask).toEqual(permissions.ask);
    expect(compiled.translations).toEqual([{ from: 'Write(migrations/**)', to: 'Edit(migrations/**)' }]);
    expect(compiled.enforced.ask).toContain('given as Write(migrations/**) -> Edit(migrations/**)');
    expect(compiled.args).toEqual(['--permission-mode', 'acceptEdits']);
  });

  test("a step whose mode is dontAsk runs in Claude's default mode when it has ask rules (dontAsk asks nobody)", () => {
    const asking = compilePolicy({ sandbox: 'read-only', ask: ['Read(secrets/**)'] }, 'claude', {
      workspace,
    });
    expect(asking.args).toEqual(['--permission-mode', 'default']);
    expect((asking.settings as { permissions: { defaultMode: string } }).permissions.defaultMode).toBe(
      'default',
    );
    expect(asking.enforced.ask).toContain("in Claude's default mode");
    expect(compilePolicy({ sandbox: 'read-only' }, 'claude', { workspace }).args).toEqual([
      '--permission-mode',
      'dontAsk',
    ]);
  });

  test.each(['claude', 'codex'] as const)(
    'on %s a rule Claude Code would ignore is refused before launch, even with validation: warn',
    (harness) => {
      const policy = {
        sandbox: 'workspace-write' as const,
        ask: ['Write(/migrations/**)'],
        allow_commands: ['Bash(npm test)'],
        validation: 'warn' as const,
      };
      expect(() => compilePolicy(policy, harness, { workspace })).toThrow(PermissionRuleError);
      expect(() => compilePolicy(policy, harness, { workspace })).toThrow(
        /SOP504: ask\[0\] "Write\(\/migrations\/\*\*\)": .*Edit\(migrations\/\*\*\); SOP504: allow_commands\[0\] "Bash\(npm test\)"/,
      );
    },
  );

  test('an mcp__ ask rule is accepted for a tool the step allows, and refused before launch for any other', () => {
    const tools = [{ server: 'tracker', spec: { command: 'node' }, allow: ['add_comment'] }];
    const compiled = compilePolicy({ sandbox: 'read-only', ask: ['mcp__tracker__add_comment'] }, 'claude', {
      workspace,
      tools,
    });
    expect((compiled.settings as { permissions: { ask: string[] } }).permissions.ask).toEqual([
      'mcp__tracker__add_comment',
    ]);
    expect(() =>
      compilePolicy({ sandbox: 'read-only', ask: ['mcp__tracker__get_issue'] }, 'claude', {
        workspace,
        tools,
      }),
    ).toThrow(/SOP504: ask\[0\] "mcp__tracker__get_issue": names an MCP tool the step does not allow/);
  });

  test('Claude Code has one tool-call timeout: servers with different tool_timeout values are refused before launch', () => {
    const tools = [
      { server: 'a', spec: { command: 'node', tool_timeout: '10s' }, allow: ['x'] },
      { server: 'b', spec: { command: 'node', tool_timeout: '20s' }, allow: ['y'] },
    ];
    expect(() => compilePolicy({ sandbox: 'read-only' }, 'claude', { workspace, tools })).toThrow(
      /claude cannot enforce tools: tool_timeout \(the servers have different tool_timeout values/,
    );
    const codex = compilePolicy({ sandbox: 'read-only' }, 'codex', { workspace, tools });
    expect(codex.enforced['tools: tool_timeout']).toMatch(/tool_timeout_sec/);
  });

  test('ask with bypass is refused; valid ask rules on codex are still refused as unsupported', () => {
    expect(() =>
      compilePolicy(
        { sandbox: 'full-access', permission_mode: 'bypass', ask: ['Bash(git push:*)'] },
        'claude',
        { workspace },
      ),
    ).toThrow(/SOP502: ask: with permission_mode bypass/);
    expect(() =>
      compilePolicy({ sandbox: 'workspace-write', ask: ['Write(migrations/**)'] }, 'codex', { workspace }),
    ).toThrow(PolicyUnsupportedError);
  });
});
