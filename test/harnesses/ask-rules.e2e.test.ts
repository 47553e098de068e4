import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execaSync } from 'execa';
import { outcomeSchema } from '../../src/activities/prompt';
import type { ToolApprovalRequest } from '../../src/harnesses/approval/channel';
import { ClaudeRunner } from '../../src/harnesses/claude';
import type { AgentExecution, AgentRunResult } from '../../src/harnesses/runner';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import type { Reply } from '../../src/scripted-model/scenario';
import type { Policy } from '../../src/shapes/policy';

// Every `ask:` rule form the compiler accepts, through the real Claude Code binary against the scripted
// model: the call a rule names reaches the permission prompt tool (the person, here a stand-in that says no),
// and the rejected call does not happen. A call no rule names is not asked about. The person's side (the
// run waits, `sop answer --reject`) is test/temporal/approvals.temporal.test.ts.

const done: Reply = { final: { route: 'done', summary: 'done', details: '' } };
const write = (file: string): Reply => ({ write: { path: file, content: 'written\n' } });
const tool = (name: string, input: Record<string, unknown>): Reply => ({ tool: { name, input } });

let server: ModelServer;
beforeAll(async () => {
  server = await startModelServer({
    rules: Object.keys(ASKS).map((name) => ({ match: `Case ${name}.`, runs: [[...CALLS[name], done]] })),
  });
});
afterAll(() => server.close());

function workspace(): string {
  const ws = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-ask-rules-')));
  execaSync('git', ['init', '-q'], { cwd: ws });
  const files: Record<string, string> = {
    'guarded/e.txt': 'old\n',
    'secret/k.txt': 'canary-secret-7c1\n',
    'src/a.txt': 'plain\n',
    'guarded/n.ipynb': JSON.stringify({
      cells: [
        { cell_type: 'code', source: ['x = 1'], metadata: {}, id: 'c1', outputs: [], execution_count: null },
      ],
      metadata: {},
      nbformat: 4,
      nbformat_minor: 5,
    }),
  };
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(ws, file)), { recursive: true });
    fs.writeFileSync(path.join(ws, file), text);
  }
  return ws;
}

async function run(name: string, policy: Policy) {
  const ws = workspace();
  const executionDir = path.join(ws, '.sop', 'runs', 's', name, 'steps', 'x');
  fs.mkdirSync(executionDir, { recursive: true });
  const asked: ToolApprovalRequest[] = [];
  const execution: AgentExecution = {
    request: {} as AgentExecution['request'],
    spec: { prompt: 'p', promptFile: 'p.md', writes: [], policy, provider: 'claude' },
    prompt: `Case ${name}.`,
    outcomeSchema: outcomeSchema(['done']),
    workspace: ws,
    executionDir,
    transcriptPath: path.join(executionDir, 'transcript.jsonl'),
    signal: new AbortController().signal,
    heartbeat: () => {},
    approveToolCall: async (request) => {
      asked.push(request);
      return { decision: { behavior: 'deny', message: 'rejected by the test' }, by: 'test' };
    },
  };
  const result: AgentRunResult = await new ClaudeRunner({ baseUrl: server.url }).run(execution);
  expect(result.outcome?.route).toBe('done');
  // what Claude reported back to the model for each call: a rejected read must not carry the file
  const rule = Object.keys(ASKS).indexOf(name);
  const outputs = server.requests.filter((r) => r.rule === rule).flatMap((r) => r.toolOutputs ?? []);
  const read = (file: string) =>
    fs.existsSync(path.join(ws, file)) ? fs.readFileSync(path.join(ws, file), 'utf8') : undefined;
  const askedAbout = asked.map((a) => {
    const target =
      a.input.file_path ?? a.input.notebook_path ?? a.input.command ?? a.input.url ?? a.input.query;
    return `${a.tool_name} ${String(target).replace(`${ws}/`, '')}`;
  });
  return { ws, askedAbout, read, outputs: outputs.join('\n'), result };
}

/** Each case's ask rules; every call below is matched by exactly one rule, or by none (the control). */
const ASKS: Record<string, Policy> = {
  paths: {
    sandbox: 'workspace-write',
    network: 'open',
    ask: [
      'Edit(guarded/**)',
      'Write(w/**)',
      'NotebookEdit(nb/**)',
      'MultiEdit(./m/**)',
      'Read(secret/**)',
      'Bash(touch:*)',
      'Bash(mkdir made)',
      'Bash(rm *)',
      'WebFetch(domain:example.com)',
      'WebSearch',
    ],
  },
  bare: { sandbox: 'workspace-write', ask: ['Write', 'Read', 'Bash'] },
  readOnly: { sandbox: 'read-only', ask: ['Read(secret/**)'] },
};
const CALLS: Record<string, Reply[]> = {
  paths: [
    { read: 'guarded/e.txt' },
    tool('Edit', { file_path: 'guarded/e.txt', old_string: 'old', new_string: 'new' }),
    write('guarded/a.txt'),
    { read: 'guarded/n.ipynb' },
    tool('NotebookEdit', { notebook_path: 'guarded/n.ipynb', cell_id: 'c1', new_source: 'x = 2' }),
    write('w/x.txt'),
    write('nb/x.txt'),
    write('m/x.txt'),
    { read: 'secret/k.txt' },
    { shell: 'touch touched.txt' },
    { shell: 'mkdir made' },
    { shell: 'rm src/a.txt' },
    tool('WebFetch', { url: 'http://example.com/page', prompt: 'summarise' }),
    tool('WebSearch', { query: 'sop runtime' }),
    write('free.txt'), // no rule names it: written without asking
  ],
  bare: [write('free.txt'), { read: 'src/a.txt' }, { shell: 'echo hi > b.txt' }],
  readOnly: [{ shell: 'ls src' }, { read: 'secret/k.txt' }],
};

// the real binary on a loaded machine: a failing test is retried once, with its first error printed
jest.retryTimes(1, { logErrorsBeforeRetry: true });

test('each rule form asks about the calls it names, and a rejected call does not happen (Write/NotebookEdit/MultiEdit(path) given as Edit(path))', async () => {
  const { askedAbout, read, outputs, result } = await run('paths', ASKS.paths);
  expect(askedAbout).toEqual([
    'Edit guarded/e.txt',
    'Write guarded/a.txt',
    'NotebookEdit guarded/n.ipynb',
    'Write w/x.txt',
    'Write nb/x.txt',
    'Write m/x.txt',
    'Read secret/k.txt',
    'Bash touch touched.txt',
    'Bash mkdir made',
    'Bash rm src/a.txt',
    'WebFetch http://example.com/page',
    'WebSearch sop runtime',
  ]);
  expect(read('guarded/e.txt')).toBe('old\n');
  expect(read('guarded/n.ipynb')).toContain('x = 1');
  for (const file of ['guarded/a.txt', 'w/x.txt', 'nb/x.txt', 'm/x.txt', 'touched.txt', 'made'])
    expect(read(file)).toBeUndefined();
  expect(read('src/a.txt')).toBe('plain\n');
  expect(outputs).not.toContain('canary-secret-7c1');
  expect(read('free.txt')).toBe('written\n');
  // the translations are in the effective policy the evidence records
  const config = result.effectiveConfig as {
    policy: Policy;
    translations: unknown;
    settings: { permissions: { ask: string[] } };
  };
  expect(config.translations).toEqual([
    { from: 'Write(w/**)', to: 'Edit(w/**)' },
    { from: 'NotebookEdit(nb/**)', to: 'Edit(nb/**)' },
    { from: 'MultiEdit(./m/**)', to: 'Edit(./m/**)' },
  ]);
  expect(config.settings.permissions.ask).toEqual(config.policy.ask);
  expect(config.policy.ask).toContain('Edit(w/**)');
  expect(config.policy.ask).not.toContain('Write(w/**)');
}, 120_000);

test('bare Write, Read and Bash ask about every file edit, read and command', async () => {
  const { askedAbout, read, outputs } = await run('bare', ASKS.bare);
  expect(askedAbout).toEqual(['Write free.txt', 'Read src/a.txt', 'Bash echo hi > b.txt']);
  expect(read('free.txt')).toBeUndefined();
  expect(read('b.txt')).toBeUndefined();
  expect(outputs).not.toContain('plain');
}, 120_000);

test('on a read-only step (dontAsk) an asked call still reaches a person; a read-only command runs unasked', async () => {
  const { askedAbout, outputs, result } = await run('readOnly', ASKS.readOnly);
  expect(askedAbout).toEqual(['Read secret/k.txt']);
  expect(outputs).toContain('a.txt'); // ls ran
  expect(outputs).not.toContain('canary-secret-7c1');
  expect((result.effectiveConfig as { argv: string[] }).argv.join(' ')).toContain(
    '--permission-mode default',
  );
}, 120_000);
