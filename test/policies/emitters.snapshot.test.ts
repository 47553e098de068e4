import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONTROLS, type Control } from '../../src/policies/capabilities';
import { compilePolicy, type Harness, PolicyUnsupportedError } from '../../src/policies/compile';
import { claudeToolConfig, codexToolArgs } from '../../src/policies/tool-servers';
import type { Policy } from '../../src/shapes/policy';
import type { ToolGrant } from '../../src/shapes/tool-grants';

// What each control turns into, per harness: the exact argv and settings the adapters launch with.
// A change to an emitter shows up as a snapshot diff to review (update with `npx jest -u`).

const workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-emit-')));
fs.writeFileSync(path.join(workspace, '.env'), 'SECRET=1\n');
fs.mkdirSync(path.join(workspace, 'vendor'));

type PolicyControl = Exclude<Control, `tools: ${string}`>;
const POLICY_CONTROLS = CONTROLS.filter((c): c is PolicyControl => !c.startsWith('tools: '));

/** One policy per control, on top of workspace-write unless the control is the sandbox itself. */
const POLICIES: Record<PolicyControl, Policy> = {
  'sandbox: read-only': { sandbox: 'read-only' },
  'sandbox: workspace-write': { sandbox: 'workspace-write' },
  'sandbox: full-access': { sandbox: 'full-access', network: 'open' },
  permission_mode: { sandbox: 'workspace-write', permission_mode: 'accept_edits' },
  allow_write: { sandbox: 'workspace-write', allow_write: ['src/', 'docs/**'] },
  deny_write: { sandbox: 'workspace-write', deny_write: ['vendor/'] },
  deny_read: { sandbox: 'workspace-write', deny_read: ['.env'] },
  'network: none': { sandbox: 'workspace-write', network: 'none' },
  'network: allowlist': { sandbox: 'workspace-write', network: { allow: ['registry.npmjs.org'] } },
  'network: open': { sandbox: 'workspace-write', network: 'open' },
  allow_commands: { sandbox: 'workspace-write', allow_commands: ['npm test'] },
  max_turns: { sandbox: 'workspace-write', max_turns: 12 },
  // refused on codex even with validation: warn (a gate that does not gate)
  ask: { sandbox: 'workspace-write', ask: ['Bash(git push:*)', 'Write(migrations/**)'], validation: 'warn' },
};

function emitted(policy: Policy, harness: Harness): unknown {
  let result: unknown;
  try {
    const c = compilePolicy(policy, harness, { workspace });
    result = { args: c.args, settings: c.settings, warnings: c.warnings };
  } catch (err) {
    if (!(err instanceof PolicyUnsupportedError)) throw err;
    result = { refused: err.message };
  }
  return JSON.parse(JSON.stringify(result).split(workspace).join('<workspace>'));
}

test('every control has a policy in this table', () => {
  expect(Object.keys(POLICIES).sort()).toEqual([...POLICY_CONTROLS].sort());
});

describe.each<Harness>(['codex', 'claude'])('%s', (harness) => {
  test.each([...POLICY_CONTROLS])('%s', (control) => {
    expect(emitted(POLICIES[control], harness)).toMatchSnapshot();
  });
});

// the tools: controls (stdio, http, allowlist, timeouts) as each adapter gives them to its harness
const GRANTS: ToolGrant[] = [
  {
    server: 'tracker',
    spec: { command: 'node', args: ['tracker.js'], env: { TRACKER_DB: 'db.json' }, tool_timeout: '30s' },
    allow: ['get_issue'],
  },
  {
    server: 'docs',
    spec: { url: 'http://127.0.0.1:8931/mcp', headers: { 'X-Team': 'a' } },
    allow: ['search'],
  },
  { server: 'unused', spec: { command: 'node', args: ['unused.js'] }, allow: [] },
];
test('tools: codex', () => expect(codexToolArgs(GRANTS)).toMatchSnapshot());
test('tools: claude', () => expect(claudeToolConfig(GRANTS)).toMatchSnapshot());
