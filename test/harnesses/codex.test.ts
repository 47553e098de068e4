import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execaSync } from 'execa';
import type { AgentExecution } from '../../src/activities/agent-runner';
import { outcomeSchema } from '../../src/activities/prompt';
import { CodexRunner } from '../../src/harnesses/codex';
import { type ModelServer, startModelServer } from '../../src/testing/model-server';
import type { Scenario } from '../../src/testing/scenario';

// The real codex binary (pinned npm package) against the scripted model server: no stand-in.
let server: ModelServer;
const scenario: Scenario = {
  rules: [
    {
      match: 'write the greeting',
      runs: [
        [
          { shell: 'cat .env; echo "read-exit=$?"' },
          { write: { path: 'greeting.txt', content: 'hello\n' } },
          { final: { route: 'done', summary: 'greeted', details: 'ok' } },
        ],
      ],
    },
    { match: 'answer badly', runs: [[{ message: 'I am done (but not in JSON)' }]] },
    {
      match: 'fail the api',
      runs: [[{ error: { status: 400, body: { error: { message: 'scripted bad request' } } } }]],
    },
  ],
};

beforeAll(async () => {
  server = await startModelServer(scenario);
});
afterAll(() => server.close());

function execution(prompt: string, policy: AgentExecution['spec']['policy']): AgentExecution {
  const workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-codex-')));
  execaSync('git', ['init', '-q'], { cwd: workspace });
  fs.writeFileSync(path.join(workspace, '.env'), 'TOKEN=canary-7f3a\n');
  const executionDir = path.join(workspace, '.sop', 'runs', 's', 't', 'steps', 'x');
  fs.mkdirSync(executionDir, { recursive: true });
  return {
    request: {} as AgentExecution['request'],
    spec: { prompt, promptFile: 'p.md', writes: [], policy, provider: 'codex' },
    prompt,
    outcomeSchema: outcomeSchema(['done']),
    workspace,
    executionDir,
    transcriptPath: path.join(executionDir, 'transcript.jsonl'),
    signal: new AbortController().signal,
    heartbeat: () => {},
  };
}

const runner = () => new CodexRunner({ baseUrl: `${server.url}/v1` });

test('a real codex turn writes files, runs commands under the policy, and returns the outcome', async () => {
  const exec = execution('Please write the greeting.', { sandbox: 'workspace-write', deny_read: ['.env'] });
  const result = await runner().run(exec);
  expect(result.outcome).toEqual({ route: 'done', payload: { summary: 'greeted', details: 'ok' } });
  expect(fs.readFileSync(path.join(exec.workspace, 'greeting.txt'), 'utf8')).toBe('hello\n');
  const transcript = fs.readFileSync(exec.transcriptPath, 'utf8');
  expect(transcript).toContain('.env: Permission denied'); // deny_read enforced by the sandbox
  expect(transcript).not.toContain('canary-7f3a');
  expect(result.usage.inputTokens).toBeGreaterThan(0);
  expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
  expect(JSON.stringify(result.effectiveConfig)).not.toContain('canary');
}, 60_000);

test('a final answer that is not the outcome JSON is an outcome error, not a success', async () => {
  const result = await runner().run(execution('Now answer badly.', { sandbox: 'read-only' }));
  expect(result.outcome).toBeUndefined();
  expect(result.outcomeError).toMatch(/not JSON/);
}, 60_000);

test('a model API failure is an infrastructure error naming codex and the status', async () => {
  await expect(runner().run(execution('Please fail the api.', { sandbox: 'read-only' }))).rejects.toThrow(
    /codex exited 1/,
  );
}, 60_000);
