import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execaSync } from 'execa';
import { outcomeSchema } from '../../src/activities/prompt';
import type { ToolApprovalRequest } from '../../src/harnesses/approval/channel';
import { ClaudeRunner } from '../../src/harnesses/claude';
import { CodexRunner } from '../../src/harnesses/codex';
import type { AgentExecution, AgentRunner, AgentRunResult } from '../../src/harnesses/runner';
import { serveIssueTrackerHttp, type TrackerHttp } from '../../src/scripted-model/issue-tracker-mcp';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import type { Reply } from '../../src/scripted-model/scenario';
import type { Policy } from '../../src/shapes/policy';
import type { ToolGrant } from '../../src/shapes/tool-grants';
import { packageRoot } from '../../src/temporal/package-paths';

// A step's MCP servers through the real codex and claude binaries against the scripted model: the shipped
// issue-tracker server (dist/scripted-model/issue-tracker-mcp.js, stdio) is started by the harness as the step's
// `tools:` say. Each server instance logs the calls that reach it, so "denied" means "never reached it".

const done: Reply = { final: { route: 'done', summary: 'done', details: '' } };
const mcp = (server: string, tool: string, args: Record<string, unknown>): Reply => ({
  mcp: { server, tool, arguments: args },
});

const CALLS: Reply[] = [
  mcp('tracker', 'get_issue', { id: '1' }),
  mcp('tracker', 'add_comment', { id: '1', body: 'not allowed' }),
  mcp('quiet', 'get_issue', { id: '2' }),
  mcp('archive', 'get_issue', { id: '2' }),
  done,
];
const ASKED: Reply[] = [
  mcp('tracker', 'add_comment', { id: '1', body: 'asked first' }),
  mcp('tracker', 'get_issue', { id: '2' }),
  done,
];

const OVER_HTTP: Reply[] = [
  mcp('web', 'get_issue', { id: '2' }),
  mcp('web', 'add_comment', { id: '2', body: 'not allowed' }),
  done,
];
const PROMPTS = [
  'Use the tracker.',
  'Comment after asking.',
  'Use the web tracker.',
  'Start a broken server.',
];

let server: ModelServer;
let web: TrackerHttp;
const webLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-mcp-web-')), 'web.jsonl');
beforeAll(async () => {
  server = await startModelServer({
    rules: [CALLS, ASKED, OVER_HTTP, [done]].map((replies, i) => ({ match: PROMPTS[i], runs: [replies] })),
  });
  web = await serveIssueTrackerHttp({ logFile: webLog });
});
afterAll(async () => {
  await server.close();
  await web.close();
});

type Harness = 'codex' | 'claude';
const runners: Record<Harness, () => AgentRunner> = {
  codex: () => new CodexRunner({ baseUrl: `${server.url}/v1` }),
  claude: () => new ClaudeRunner({ baseUrl: server.url }),
};

const trackerJs = path.join(packageRoot, 'dist', 'scripted-model', 'issue-tracker-mcp.js');

/** The tracker as server `name`, logging the calls that reach it to `<logDir>/<name>.jsonl`. */
function tracker(name: string, logDir: string, allow: string[]): ToolGrant {
  return {
    server: name,
    spec: {
      // as a user writes it: found on the PATH the harness gives the server
      command: 'node',
      args: [trackerJs],
      env: { ISSUE_TRACKER_LOG: path.join(logDir, `${name}.jsonl`) },
    },
    allow,
  };
}

async function run(
  harness: Harness,
  prompt: string,
  policy: Policy,
  allow: Record<string, string[]>,
  extra: ToolGrant[] = [],
  /** what the person answers when asked (approve unless told) */
  approve = true,
) {
  const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `sop-mcp-${harness}-`)));
  execaSync('git', ['init', '-q'], { cwd: ws });
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-mcp-log-'));
  const executionDir = path.join(ws, '.sop', 'runs', 's', 't', 'steps', 'x');
  fs.mkdirSync(executionDir, { recursive: true });
  const asked: ToolApprovalRequest[] = [];
  const execution: AgentExecution = {
    request: {} as AgentExecution['request'],
    spec: {
      prompt,
      promptFile: 'p.md',
      writes: [],
      policy,
      provider: harness,
      tools: [...Object.entries(allow).map(([name, tools]) => tracker(name, logDir, tools)), ...extra],
    },
    prompt,
    outcomeSchema: outcomeSchema(['done']),
    workspace: ws,
    executionDir,
    transcriptPath: path.join(executionDir, 'transcript.jsonl'),
    signal: new AbortController().signal,
    heartbeat: () => {},
    approveToolCall: async (request) => {
      asked.push(request);
      return approve
        ? { decision: { behavior: 'allow', updatedInput: request.input }, by: 'test' }
        : { decision: { behavior: 'deny', message: 'not this one' }, by: 'test' };
    },
  };
  const result: AgentRunResult = await runners[harness]().run(execution);
  const rule = PROMPTS.indexOf(prompt);
  const outputs = server.requests.filter((r) => r.rule === rule).flatMap((r) => r.toolOutputs ?? []);
  const reached = (name: string) => {
    const file = path.join(logDir, `${name}.jsonl`);
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tool: string; arguments: unknown });
  };
  return { result, outputs: outputs.join('\n'), reached, asked };
}

describe.each<Harness>(['codex', 'claude'])('%s (real binary)', (harness) => {
  test("an allowed MCP tool's result reaches the agent; a tool outside the allowlist, a server listed without tools and a server the step does not list are not reachable, and the calls are recorded as denied", async () => {
    // tracker allows get_issue only; quiet is listed without tools; archive is declared but not listed
    const { result, outputs, reached } = await run(
      harness,
      'Use the tracker.',
      { sandbox: 'read-only' },
      { tracker: ['get_issue'], quiet: [] },
    );
    expect(result.outcome?.route).toBe('done');
    // the issue's text came back to the model from the real server
    expect(outputs).toContain('Login fails with an expired token');
    expect(reached('tracker')).toEqual([{ tool: 'get_issue', arguments: { id: '1' } }]);
    expect(reached('quiet')).toEqual([]);
    expect(reached('archive')).toEqual([]);
    const outside = (tool: string, server: string) => ({
      tool,
      target: server,
      reason: expect.any(String),
      source: 'disabled_tool',
    });
    expect(result.denials).toEqual([
      harness === 'claude'
        ? {
            tool: 'mcp__tracker__add_comment',
            target: 'tracker',
            reason: expect.stringMatching(/^Permission to use mcp__tracker__add_comment has been denied/),
            source: 'permission',
          }
        : outside('mcp__tracker__add_comment', 'tracker'),
      outside('mcp__quiet__get_issue', 'quiet'),
      outside('mcp__archive__get_issue', 'archive'),
    ]);
    // every MCP call is recorded with the sha256 and size of its arguments, never the arguments themselves
    const sha = (args: unknown) => createHash('sha256').update(JSON.stringify(args)).digest('hex');
    const call = (server: string, tool: string, args: unknown, denied: boolean) => ({
      server,
      tool,
      argumentsSha256: sha(args),
      argumentsBytes: JSON.stringify(args).length,
      resultBytes: denied ? 0 : expect.any(Number),
      // from the call to its result, as the harness recorded them
      durationMs: expect.any(Number),
      denied,
    });
    expect(result.mcpCalls).toEqual([
      call('tracker', 'get_issue', { id: '1' }, false),
      call('tracker', 'add_comment', { id: '1', body: 'not allowed' }, true),
      call('quiet', 'get_issue', { id: '2' }, true),
      call('archive', 'get_issue', { id: '2' }, true),
    ]);
    expect(result.mcpCalls?.[0].resultBytes).toBeGreaterThan('Login fails with an expired token'.length);
    expect(JSON.stringify(result.mcpCalls)).not.toContain('not allowed');
    expect(result.effectiveConfig).toMatchObject({
      tools: [
        { server: 'tracker', allow: ['get_issue'], spec: { env: { ISSUE_TRACKER_LOG: '[redacted]' } } },
        { server: 'quiet', allow: [] },
      ],
    });
  }, 120_000);

  test('an MCP server over streamable HTTP on loopback: its headers are sent, the allowed tool answers, the other is denied', async () => {
    const before = fs.existsSync(webLog) ? fs.readFileSync(webLog, 'utf8') : '';
    const { result, outputs } = await run(harness, 'Use the web tracker.', { sandbox: 'read-only' }, {}, [
      {
        server: 'web',
        spec: { url: web.url, headers: { 'X-Tracker-Team': `team-${harness}` } },
        allow: ['get_issue'],
      },
    ]);
    expect(result.outcome?.route).toBe('done');
    expect(outputs).toContain('Typo in the README');
    const calls = fs.readFileSync(webLog, 'utf8').slice(before.length).trim().split('\n');
    expect(calls.map((l) => JSON.parse(l))).toEqual([{ tool: 'get_issue', arguments: { id: '2' } }]);
    expect(web.headers.some((h) => h['x-tracker-team'] === `team-${harness}`)).toBe(true);
    expect(result.mcpCalls?.map((c) => [c.server, c.tool, c.denied])).toEqual([
      ['web', 'get_issue', false],
      ['web', 'add_comment', true],
    ]);
    expect(result.effectiveConfig).toMatchObject({
      tools: [{ server: 'web', spec: { url: web.url, headers: { 'X-Tracker-Team': '[redacted]' } } }],
    });
  }, 120_000);

  test('a tool server that cannot start fails the launch, naming the server (the agent never runs without its tools)', async () => {
    const failure = await run(harness, 'Start a broken server.', { sandbox: 'read-only' }, {}, [
      { server: 'broken', spec: { command: 'sop-no-such-server-binary' }, allow: ['get_issue'] },
    ]).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(failure?.message).toMatch(
      /a tool server of the step could not start \(broken: .*check its entry under mcp_servers/,
    );
  }, 120_000);
});

test('claude: an ask: rule on an allowed MCP tool waits for a person, and the approved call reaches the server; a tool outside the allowlist is denied without asking anyone', async () => {
  // with ask: Claude runs in its default mode, which sends every call no rule allows to the prompt tool
  const { result, reached, asked } = await run(
    'claude',
    'Comment after asking.',
    { sandbox: 'read-only', ask: ['mcp__tracker__add_comment'] },
    { tracker: ['add_comment'] },
  );
  expect(result.outcome?.route).toBe('done');
  expect(asked.map((a) => a.tool_name)).toEqual(['mcp__tracker__add_comment']);
  expect(reached('tracker')).toEqual([{ tool: 'add_comment', arguments: { id: '1', body: 'asked first' } }]);
  expect(result.approvals).toEqual([
    expect.objectContaining({ tool: 'mcp__tracker__add_comment', approved: true }),
  ]);
  expect(result.denials).toEqual([
    expect.objectContaining({ tool: 'mcp__tracker__get_issue', target: 'tracker', source: 'permission' }),
  ]);
  // the runtime's own approval server is not one of the step's tools
  expect(result.mcpCalls?.map((c) => [c.server, c.tool, c.denied])).toEqual([
    ['tracker', 'add_comment', false],
    ['tracker', 'get_issue', true],
  ]);
}, 120_000);

test('claude: an ask: rule on an allowed MCP tool rejected by the person: the call never reaches the server, and the rejection is recorded', async () => {
  const { reached, asked, result } = await run(
    'claude',
    'Comment after asking.',
    { sandbox: 'read-only', ask: ['mcp__tracker__add_comment'] },
    { tracker: ['add_comment'] },
    [],
    false,
  );
  expect(asked.map((a) => a.tool_name)).toEqual(['mcp__tracker__add_comment']);
  expect(reached('tracker')).toEqual([]);
  expect(result.approvals).toEqual([
    expect.objectContaining({ tool: 'mcp__tracker__add_comment', approved: false }),
  ]);
}, 120_000);
