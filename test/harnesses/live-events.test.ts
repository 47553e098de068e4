import { LiveActionTracker } from '../../src/client/live-activity';
import { ClaudeDenialParser } from '../../src/harnesses/claude-denials';
import { LiveRecorder } from '../../src/harnesses/live-activity';
import { ClaudeLiveParser, CodexLiveParser } from '../../src/harnesses/live-events';
import {
  LIVE_ACTIONS_KEPT,
  LIVE_TEXT_MAX,
  LiveActivity,
  type LiveExecution,
} from '../../src/shapes/live-activity';

// What the live view makes of the harnesses' stream lines (shapes from HARNESSES.md §3), and what a follower
// prints of it: every action once, in order, bounded, without secrets.

const workspace = '/srv/repo';
const head = { step: 'fix', role: 'producer', attempt: 1 };

function codex(lines: unknown[]): LiveActivity {
  const live = new LiveRecorder(head);
  const parser = new CodexLiveParser(live, { workspace, policy: { sandbox: 'workspace-write' } });
  for (const line of lines) parser.event(line as Record<string, unknown>);
  live.harness('codex', 'thread-1', lines.length);
  return LiveActivity.parse(live.details());
}

test('Codex: a command as it starts and ends with its exit code and output tail, files by workspace path, tokens at the turn end', () => {
  const command = "/bin/bash -lc 'npm test --silent'";
  const details = codex([
    { type: 'thread.started', thread_id: 'thread-1' },
    {
      type: 'item.started',
      item: { id: 'item_1', type: 'command_execution', command, status: 'in_progress' },
    },
    {
      type: 'item.completed',
      item: {
        id: 'item_1',
        type: 'command_execution',
        command,
        aggregated_output: 'FAIL test/slugify.test.ts\n  expected "a-b" got "a--b"\n',
        exit_code: 1,
        status: 'failed',
      },
    },
    {
      type: 'item.completed',
      item: {
        id: 'item_2',
        type: 'file_change',
        changes: [{ path: '/srv/repo/src/slugify.ts', kind: 'update' }],
        status: 'completed',
      },
    },
    // a patch that failed wrote nothing
    {
      type: 'item.completed',
      item: {
        id: 'item_3',
        type: 'file_change',
        changes: [{ path: '/srv/repo/x.ts', kind: 'add' }],
        status: 'failed',
      },
    },
    {
      type: 'turn.completed',
      usage: { input_tokens: 31870, cached_input_tokens: 28416, output_tokens: 912 },
    },
  ]);
  expect(details.actions.map(({ seq, at, ...rest }) => rest)).toEqual([
    { kind: 'command', phase: 'started', command: 'npm test --silent' },
    {
      kind: 'command',
      phase: 'finished',
      command: 'npm test --silent',
      exitCode: 1,
      output: 'FAIL test/slugify.test.ts expected "a-b" got "a--b"',
    },
    { kind: 'file', change: 'update', path: 'src/slugify.ts' },
  ]);
  expect(details.actions.map((a) => a.seq)).toEqual([1, 2, 3]);
  expect(details).toMatchObject({
    harness: 'codex',
    sessionId: 'thread-1',
    seq: 3,
    counts: { commands: 1, files: 1, tools: 0, denials: 0 },
    tokens: { input: 31870, output: 912 },
  });
});

test('secrets never reach the live view; long texts are cut, an output keeps its end; MCP arguments show only their names', () => {
  const key = 'sk-live0123456789abcdef';
  const long = `${'x'.repeat(5000)} the error at the end`;
  const details = codex([
    {
      type: 'item.completed',
      item: {
        id: 'item_1',
        type: 'command_execution',
        command: `curl -H 'Authorization: Bearer abcdefghijklmnop' https://x?api_key=${key}`,
        aggregated_output: long,
        exit_code: 0,
      },
    },
    {
      type: 'item.started',
      item: {
        id: 'item_2',
        type: 'mcp_tool_call',
        server: 'tracker',
        tool: 'create_issue',
        arguments: { title: 'private words', body: 'b' },
      },
    },
  ]);
  const text = JSON.stringify(details);
  expect(text).not.toContain(key);
  expect(text).not.toContain('abcdefghijklmnop');
  expect(text).not.toContain('private words');
  const finished = details.actions[0];
  expect(finished.kind === 'command' && finished.output).toMatch(/^….*the error at the end$/);
  expect(finished.kind === 'command' && finished.output!.length).toBeLessThanOrEqual(LIVE_TEXT_MAX);
  expect(details.actions[1]).toMatchObject({
    kind: 'tool',
    server: 'tracker',
    tool: 'create_issue',
    input: 'title, body (36 bytes)',
  });
});

test('the ring keeps the newest actions; the sequence number and the counters keep counting', () => {
  const live = new LiveRecorder(head);
  for (let i = 1; i <= LIVE_ACTIONS_KEPT + 5; i++)
    live.add({ kind: 'command', phase: 'started', command: `step ${i}` });
  const details = LiveActivity.parse(live.details());
  expect(details.actions).toHaveLength(LIVE_ACTIONS_KEPT);
  expect(details.actions[0].seq).toBe(6);
  expect(details.seq).toBe(LIVE_ACTIONS_KEPT + 5);
  expect(details.counts.commands).toBe(LIVE_ACTIONS_KEPT + 5);
});

test('Claude: Bash with its exit code, Write and Edit as files, a denial, an MCP tool; usage counted once per message', () => {
  const live = new LiveRecorder(head);
  const denials = new ClaudeDenialParser({ workspace, policy: { sandbox: 'workspace-write' } });
  const parser = new ClaudeLiveParser(live, workspace, () => denials.list());
  const usage = {
    input_tokens: 100,
    cache_creation_input_tokens: 10,
    cache_read_input_tokens: 5,
    output_tokens: 7,
  };
  const assistant = (id: string, block: unknown) => ({
    type: 'assistant',
    message: { id, usage, content: [block] },
  });
  const result = (id: string, content: string, is_error = false, extra: Record<string, unknown> = {}) => ({
    type: 'user',
    message: { content: [{ type: 'tool_result', tool_use_id: id, content, is_error }] },
    ...extra,
  });
  const events = [
    assistant('m1', { type: 'text', text: 'Let me run the tests.' }),
    assistant('m1', { type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'npm test' } }),
    result('t1', 'Exit code 2\nFAIL', true),
    assistant('m2', {
      type: 'tool_use',
      id: 't2',
      name: 'Write',
      input: { file_path: '/srv/repo/src/a.ts', content: 'x' },
    }),
    result('t2', 'File created successfully'),
    assistant('m3', {
      type: 'tool_use',
      id: 't3',
      name: 'Edit',
      input: { file_path: '/srv/repo/locked/b.ts' },
    }),
    {
      type: 'system',
      subtype: 'permission_denied',
      tool_use_id: 't3',
      tool_name: 'Edit',
      message: 'Permission to use Edit has been denied.',
    },
    assistant('m4', { type: 'tool_use', id: 't4', name: 'mcp__tracker__get_issue', input: { id: '1' } }),
    result('t4', 'issue 1'),
  ];
  for (const e of events) {
    denials.event(e);
    parser.event(e);
  }
  const details = LiveActivity.parse(live.details());
  expect(details.actions.map(({ seq, at, ...rest }) => rest)).toEqual([
    { kind: 'message', text: 'Let me run the tests.' },
    { kind: 'command', phase: 'started', command: 'npm test' },
    { kind: 'command', phase: 'finished', command: 'npm test', exitCode: 2, output: 'Exit code 2 FAIL' },
    { kind: 'file', change: 'write', path: 'src/a.ts' },
    { kind: 'denial', tool: 'Edit', reason: 'locked/b.ts: Permission to use Edit has been denied.' },
    { kind: 'tool', phase: 'started', server: 'tracker', tool: 'get_issue', input: 'id (10 bytes)' },
    { kind: 'tool', phase: 'finished', server: 'tracker', tool: 'get_issue' },
  ]);
  // four messages (m1 twice in the stream): 4 × (100 + 10 + 5) in, 4 × 7 out
  expect(details.tokens).toEqual({ input: 460, output: 28 });
});

test('a follower prints each action once, in order, and says how many fell out of the ring between two reads', () => {
  const live = new LiveRecorder(head);
  const execution = (attempt = 1): LiveExecution => ({
    workflowId: 'w',
    runId: 'r',
    activityId: '3',
    activityAttempt: attempt,
    activity: live.details(),
  });
  const tracker = new LiveActionTracker();
  live.add({ kind: 'command', phase: 'started', command: 'one' });
  expect(tracker.newActions([execution()]).map((s) => s.action.seq)).toEqual([1]);
  expect(tracker.newActions([execution()])).toEqual([]);
  for (let i = 0; i < LIVE_ACTIONS_KEPT + 3; i++) live.add({ kind: 'message', text: `m${i}` });
  const next = tracker.newActions([execution()]);
  expect(next[0]).toMatchObject({ missed: 3 });
  expect(next.map((s) => s.action.seq)).toEqual(Array.from({ length: LIVE_ACTIONS_KEPT }, (_, i) => i + 5));
  // Temporal's next attempt of the activity is another execution: its actions are new
  expect(tracker.newActions([execution(2)])).toHaveLength(LIVE_ACTIONS_KEPT);
});
