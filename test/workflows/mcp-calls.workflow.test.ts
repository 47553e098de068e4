import * as fs from 'node:fs';
import * as path from 'node:path';
import { fetchRunEvents } from '../../src/client/run-events';
import type { RoleSpec } from '../../src/shapes/execution-plan';
import type { McpCall } from '../../src/shapes/mcp-call';
import { finish, plan, role, route, step } from '../support/plans';
import { ScriptedRunner } from '../support/scripted-runner';
import { connectForTest, type TemporalTestContext } from '../support/temporal';
import { runScripted } from '../support/workflow-tier';

// The record of a step's MCP tool calls beyond its execution: each call is an event of `sop logs --events`,
// the run counts them (run.json, the result, the status query), and a call outside the allowlist is a denial
// that on_denial: reject refuses like any other. The harness side (what the real binaries report) is
// test/harnesses/mcp-tools.e2e.test.ts.

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

const call = (tool: string, denied: boolean, durationMs: number): McpCall => ({
  server: 'tracker',
  tool,
  argumentsSha256: 'ab'.repeat(32),
  argumentsBytes: 10,
  resultBytes: denied ? 0 : 240,
  durationMs,
  denied,
});
const outside = {
  tool: 'mcp__tracker__add_comment',
  target: 'tracker',
  reason: "not in the step's tools: allowlist (unsupported call: mcp__tracker__add_comment)",
  source: 'disabled_tool' as const,
};

test('MCP calls show in logs --events and are counted in run.json and the result; a call outside the allowlist is a denial on_denial: reject refuses', async () => {
  const guarded: RoleSpec = {
    ...role('Triage.'),
    policy: { sandbox: 'read-only', on_denial: 'reject' },
    tools: [{ server: 'tracker', spec: { command: 'node' }, allow: ['get_issue'] }],
  };
  const runner = new ScriptedRunner({
    'triage/agent': [
      {
        route: 'done',
        mcpCalls: [call('get_issue', false, 35), call('add_comment', true, 2)],
        denials: [outside],
      },
      { route: 'done', mcpCalls: [call('get_issue', false, 12)] },
    ],
  });
  const p = plan('mcp-record', [
    step('triage', { agent: guarded, maxAttempts: 2, routes: [route('done', finish)] }),
  ]);
  const { result, run, handle } = await runScripted(ctx, p, runner);
  expect(result?.status).toBe('completed');
  // the first attempt was refused for its denied call, the second accepted
  expect(runner.calls).toHaveLength(2);
  expect(runner.prompts('triage/agent')[1]).toContain(
    'denied tool call (on_denial: reject): mcp__tracker__add_comment',
  );
  expect(result?.mcpCalls).toEqual({ calls: 3, denied: 1 });
  const summary = JSON.parse(fs.readFileSync(path.join(run.runFolder, 'run.json'), 'utf8'));
  expect(summary.mcpCalls).toEqual({ calls: 3, denied: 1 });
  expect(summary.deniedCalls).toBe(1);

  const events = (await fetchRunEvents(ctx.client, handle)).filter((e) => e.kind === 'tool call');
  expect(events.map((e) => e.text)).toEqual([
    `triage · agent · attempt 1 · codex: tracker.get_issue: args 10 B sha256 ${'ab'.repeat(6)}…, result 240 B, 35 ms`,
    `triage · agent · attempt 1 · codex: tracker.add_comment: args 10 B sha256 ${'ab'.repeat(6)}…, denied, 2 ms`,
    `triage · agent · attempt 2 · codex: tracker.get_issue: args 10 B sha256 ${'ab'.repeat(6)}…, result 240 B, 12 ms`,
  ]);
  expect(events[0]).toMatchObject({ step: 'triage', role: 'agent', attempt: 1 });
});
