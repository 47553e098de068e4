import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execaSync } from 'execa';
import { outcomeSchema } from '../../src/activities/prompt';
import { auditWrites, headRef, snapshotWorkspace } from '../../src/activities/write-audit';
import { ClaudeRunner } from '../../src/harnesses/claude';
import { CodexRunner } from '../../src/harnesses/codex';
import { type AgentExecution, type AgentRunner, HarnessFatalError } from '../../src/harnesses/runner';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import type { Scenario } from '../../src/scripted-model/scenario';
import type { Policy } from '../../src/shapes/policy';
import { RateLimitError } from '../../src/shapes/rate-limit';

// The real codex and claude binaries (pinned npm packages), through the adapters, against the scripted
// model server on loopback, in temporary git repositories. Nothing here is a stand-in.

// a long command no other process on the machine has, so its survival can be checked by command line
// (Claude Code refuses a bare `sleep`, so node waits instead)
/** For `promise.then(noError, (err) => err)`: the error a run must fail with, or undefined. */
const noError = () => undefined;
const waitMarker = `sop-wait-${randomUUID().slice(0, 8)}`;
const sleeper = `node -e "setTimeout(() => {}, 300000)" ${waitMarker}`;
const done = { final: { route: 'done', summary: 'finished', details: 'ok' } };
const scenario: Scenario = {
  rules: [
    {
      match: 'implement the greeting',
      runs: [
        [
          { shell: 'cat .env; echo "read-exit=$?"' },
          { write: { path: 'greeting.txt', content: 'hello\n' } },
          { shell: 'test "$(cat greeting.txt)" = hello && echo GREETING-TEST-PASSED' },
          { final: { route: 'done', summary: 'greeted', details: 'test passed' } },
        ],
      ],
    },
    {
      match: 'touch the locked file',
      runs: [[{ write: { path: 'locked/config.txt', content: 'changed\n' } }, done]],
    },
    {
      match: 'write from the shell',
      runs: [[{ shell: 'echo hi > made.txt; echo "exit=$?"' }, done]],
    },
    { match: 'use the write tool', runs: [[{ write: { path: 'made.txt', content: 'x\n' } }, done]] },
    { match: 'fetch a web page', runs: [[{ shell: 'curl -sS -m 5 http://example.com/' }, done]] },
    { match: 'cat the key', runs: [[{ shell: 'cat secret/key.txt' }, done]] },
    {
      // a file about errors, printed by a command that works, next to a read the sandbox blocks
      match: 'show the troubleshooting notes',
      runs: [[{ shell: 'cat notes/troubleshooting.md; cat secret/key.txt' }, done]],
    },
    {
      match: 'read five secrets',
      runs: [
        [
          { shell: 'cat secret/a.txt secret/b.txt' },
          { shell: 'head -1 secret/c.txt; cat secret/d.txt' },
          { read: 'secret/e.txt' },
          done,
        ],
      ],
    },
    {
      match: 'write below a file',
      runs: [[{ write: { path: 'locked/config.txt/below.txt', content: 'x\n' } }, done]],
    },
    { match: 'write notes at the root', runs: [[{ write: { path: 'notes.txt', content: 'n\n' } }, done]] },
    {
      match: 'use a bad key',
      runs: [
        [
          {
            error: {
              status: 401,
              body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
            },
          },
        ],
      ],
    },
    {
      match: 'break the server',
      runs: [
        [
          {
            error: {
              status: 500,
              body: { type: 'error', error: { type: 'api_error', message: 'scripted 500' } },
            },
          },
        ],
      ],
    },
    {
      match: 'hit the rate limit',
      runs: [
        [
          {
            error: {
              status: 429,
              headers: { 'retry-after': '7' },
              body: {
                type: 'error',
                error: { type: 'rate_limit_error', message: 'Rate limit reached. Please try again in 7s.' },
              },
            },
          },
        ],
      ],
    },
    {
      match: 'answer sloppily',
      runs: [[{ message: 'All done, the route is done.' }, done]],
    },
    {
      match: 'produce a big file',
      runs: [
        [
          { write: { path: 'big.txt', content: `${'x'.repeat(599_999)}\n` } },
          { shell: 'wc -c big.txt' },
          { final: { route: 'done', summary: 'big', details: '' } },
        ],
      ],
    },
    { match: 'wait for a long time', runs: [[{ shell: sleeper }, done]] },
    {
      match: 'show the shell',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion
      runs: [[{ shell: 'echo "startup=${SOP_STARTUP_MARK:-none}"; git config --global user.name' }, done]],
    },
  ],
};

// The real binaries on a loaded machine behave less predictably than the scripted model: a failing test
// is retried once, and its first error is printed.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

let server: ModelServer;
beforeAll(async () => {
  server = await startModelServer(scenario);
});
afterAll(() => server.close());

type Harness = 'codex' | 'claude';
const runners: Record<Harness, () => AgentRunner> = {
  codex: () => new CodexRunner({ baseUrl: `${server.url}/v1` }),
  claude: () => new ClaudeRunner({ baseUrl: server.url }),
};

function execution(harness: Harness, prompt: string, policy: Policy, signal?: AbortSignal): AgentExecution {
  const workspace = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `sop-${harness}-`)));
  execaSync('git', ['init', '-q'], { cwd: workspace });
  fs.writeFileSync(path.join(workspace, '.env'), 'TOKEN=canary-7f3a\n');
  fs.mkdirSync(path.join(workspace, 'locked'));
  fs.writeFileSync(path.join(workspace, 'locked', 'config.txt'), 'original\n');
  const executionDir = path.join(workspace, '.sop', 'runs', 's', 't', 'steps', 'x');
  fs.mkdirSync(executionDir, { recursive: true });
  return {
    request: {} as AgentExecution['request'],
    spec: { prompt, promptFile: 'p.md', writes: [], policy, provider: harness },
    prompt,
    outcomeSchema: outcomeSchema(['done']),
    workspace,
    executionDir,
    transcriptPath: path.join(executionDir, 'transcript.jsonl'),
    signal: signal ?? new AbortController().signal,
    heartbeat: () => {},
  };
}

function writeSecrets(workspace: string, names: string[]): void {
  fs.mkdirSync(path.join(workspace, 'secret'), { recursive: true });
  for (const name of names)
    fs.writeFileSync(path.join(workspace, 'secret', `${name}.txt`), `canary-${name}\n`);
}

const requestsFor = (match: string) =>
  server.requests.filter((r) => r.rule === scenario.rules.findIndex((rule) => rule.match === match));

describe.each<Harness>(['codex', 'claude'])('%s (real binary)', (harness) => {
  test('edits a file, runs a test, and returns the structured outcome; deny_read holds', async () => {
    const exec = execution(harness, 'Please implement the greeting.', {
      sandbox: 'workspace-write',
      deny_read: ['.env'],
    });
    const result = await runners[harness]().run(exec);
    expect(result.outcome).toEqual({
      route: 'done',
      payload: { summary: 'greeted', details: 'test passed' },
    });
    expect(fs.readFileSync(path.join(exec.workspace, 'greeting.txt'), 'utf8')).toBe('hello\n');
    const transcript = fs.readFileSync(exec.transcriptPath, 'utf8');
    expect(transcript).toContain('GREETING-TEST-PASSED');
    expect(transcript).not.toContain('canary-7f3a');
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.usage.costUsd).toBeGreaterThan(0);
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(result.effectiveConfig)).not.toContain('canary');
  }, 90_000);

  test("the user's shell start-up files do not reach the agent's commands", async () => {
    // a governed run must not depend on whoever's ~/.bashrc the worker happens to run under
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-home-'));
    for (const file of ['.bashrc', '.bash_profile', '.profile', '.bash_login'])
      fs.writeFileSync(path.join(home, file), `export SOP_STARTUP_MARK=${file}\n`);
    // ...while the rest of home (git identity, toolchains) is still there
    fs.writeFileSync(path.join(home, '.gitconfig'), '[user]\n\tname = Sop Tester\n');
    const realHome = process.env.HOME;
    process.env.HOME = home;
    try {
      const exec = execution(harness, 'Please show the shell.', { sandbox: 'workspace-write' });
      const result = await runners[harness]().run(exec);
      expect(result.outcome?.route).toBe('done');
      const transcript = fs.readFileSync(exec.transcriptPath, 'utf8');
      expect(transcript).toContain('startup=none');
      expect(transcript).not.toMatch(/startup=\.(bash|profile)/);
      expect(transcript).toContain('Sop Tester');
    } finally {
      process.env.HOME = realHome;
    }
  }, 90_000);

  test('a patch that fails is not listed as a changed file', async () => {
    const exec = execution(harness, 'Please write below a file.', { sandbox: 'workspace-write' });
    const result = await runners[harness]().run(exec);
    expect(fs.statSync(path.join(exec.workspace, 'locked', 'config.txt')).isFile()).toBe(true);
    // Codex reports the patch as a file_change item with status "failed"
    if (harness === 'codex') expect(result.effectiveConfig).toMatchObject({ filesChanged: [] });
  }, 90_000);

  test('a write the policy denies does not happen', async () => {
    const exec = execution(harness, 'Now touch the locked file.', {
      sandbox: 'workspace-write',
      deny_write: ['locked/'],
    });
    const result = await runners[harness]().run(exec);
    expect(fs.readFileSync(path.join(exec.workspace, 'locked', 'config.txt'), 'utf8')).toBe('original\n');
    // recorded as evidence: Claude's permission_denials, Codex's rollout ("patch rejected")
    expect(result.denials).toEqual([
      expect.objectContaining(
        harness === 'claude'
          ? { tool: 'Write', target: 'locked/config.txt', source: 'permission' }
          : {
              tool: 'apply_patch',
              target: 'locked/config.txt',
              reason: expect.stringMatching(/patch rejected/),
            },
      ),
    ]);
  }, 90_000);

  // the denial model: every denied or blocked call as { tool, target, reason, source }, both harnesses
  const readOnly: Policy = { sandbox: 'read-only', permission_mode: 'dont_ask' };
  test('a shell command that writes under read-only is recorded as denied', async () => {
    const exec = execution(harness, 'Please write from the shell.', readOnly);
    const result = await runners[harness]().run(exec);
    expect(result.outcome?.route).toBe('done');
    expect(fs.existsSync(path.join(exec.workspace, 'made.txt'))).toBe(false);
    expect(result.denials).toEqual([
      harness === 'claude'
        ? {
            // Bash is not allowed in dont_ask + read-only: Claude's permission system refuses the call
            tool: 'Bash',
            target: 'echo hi > made.txt; echo "exit=$?"',
            reason: expect.stringMatching(/^Permission to use Bash has been denied/),
            source: 'permission',
          }
        : {
            // Codex runs it in its read-only sandbox: the shell reports EROFS
            tool: 'exec_command',
            target: 'made.txt',
            reason: expect.stringMatching(/made\.txt: Read-only file system/),
            source: 'sandbox',
          },
    ]);
  }, 90_000);

  test('a call to a file-writing tool under read-only is recorded as denied', async () => {
    const exec = execution(harness, 'Please use the write tool.', readOnly);
    const result = await runners[harness]().run(exec);
    expect(fs.existsSync(path.join(exec.workspace, 'made.txt'))).toBe(false);
    expect(result.denials).toEqual([
      harness === 'claude'
        ? {
            // read-only removes Write from Claude's tool set: the call gets "No such tool available"
            tool: 'Write',
            target: 'made.txt',
            reason: expect.stringMatching(/No such tool available: Write\. Write is disabled/),
            source: 'disabled_tool',
          }
        : {
            tool: 'apply_patch',
            target: 'made.txt',
            reason: expect.stringMatching(/^patch rejected: writing is blocked by read-only sandbox/),
            source: 'sandbox',
          },
    ]);
  }, 90_000);

  test("a command's read of a deny_read file blocked by the sandbox is recorded", async () => {
    const exec = execution(harness, 'Please cat the key.', {
      sandbox: 'workspace-write',
      deny_read: ['secret/key.txt'],
    });
    writeSecrets(exec.workspace, ['key']);
    const result = await runners[harness]().run(exec);
    expect(fs.readFileSync(exec.transcriptPath, 'utf8')).not.toContain('canary-key');
    expect(result.denials).toEqual([
      {
        tool: harness === 'claude' ? 'Bash' : 'exec_command',
        target: 'secret/key.txt',
        reason: 'cat: secret/key.txt: Permission denied',
        source: 'sandbox',
      },
    ]);
  }, 90_000);

  test("error text a working command prints is no denial; only the sandbox's own refusal counts", async () => {
    const exec = execution(harness, 'Please show the troubleshooting notes.', {
      sandbox: 'workspace-write',
      deny_read: ['secret/key.txt'],
    });
    writeSecrets(exec.workspace, ['key']);
    fs.mkdirSync(path.join(exec.workspace, 'notes'));
    fs.writeFileSync(
      path.join(exec.workspace, 'notes', 'troubleshooting.md'),
      [
        '# When the deploy fails',
        "cp: cannot create regular file 'dist/app.js': Permission denied",
        "Error: EACCES: permission denied, open '/srv/app/config.json'",
        "touch: cannot touch 'build/stamp': Read-only file system",
        'curl: (6) Could not resolve host: registry.example.org',
        'deny file-write /srv/app/cache',
        '',
      ].join('\n'),
    );
    const before = server.requests.length;
    const result = await runners[harness]().run(exec);
    // the command ran: the model was shown the notes, and not the key. (Codex's event stream now and then
    // leaves out a command it ran, seen with 0.169.0 under TERM=dumb: the record must not depend on it.)
    const told = server.requests
      .slice(before)
      .flatMap((r) => r.toolOutputs ?? [])
      .join('\n');
    expect(told).toContain('When the deploy fails');
    expect(told).not.toContain('canary-key');
    expect(result.denials).toEqual([
      {
        tool: harness === 'claude' ? 'Bash' : 'exec_command',
        target: 'secret/key.txt',
        reason: 'cat: secret/key.txt: Permission denied',
        source: 'sandbox',
      },
    ]);
  }, 90_000);

  test('a network connection the policy blocks is recorded', async () => {
    const exec = execution(harness, 'Please fetch a web page.', {
      sandbox: 'workspace-write',
      network: 'none',
    });
    const result = await runners[harness]().run(exec);
    expect(result.denials).toEqual([
      {
        tool: harness === 'claude' ? 'Bash' : 'exec_command',
        // Claude's sandbox proxy names host and port; in Codex's sandbox the name lookup fails
        target: harness === 'claude' ? 'example.com:80' : 'example.com',
        reason:
          harness === 'claude'
            ? expect.stringMatching(/^deny network-outbound example\.com:80/)
            : expect.stringMatching(/Could not resolve host: example\.com/),
        source: 'network',
      },
    ]);
  }, 90_000);

  test('every blocked read is recorded: five files in three calls', async () => {
    const exec = execution(harness, 'Please read five secrets.', {
      sandbox: 'workspace-write',
      deny_read: ['secret/'],
    });
    writeSecrets(exec.workspace, ['a', 'b', 'c', 'd', 'e']);
    const result = await runners[harness]().run(exec);
    expect(fs.readFileSync(exec.transcriptPath, 'utf8')).not.toMatch(/canary-[a-e]/);
    expect(result.denials?.map((d) => d.target)).toEqual(
      ['a', 'b', 'c', 'd', 'e'].map((f) => `secret/${f}.txt`),
    );
    // Codex's sandbox answers EACCES; Claude's hides a denied folder (ENOENT for files that exist) and its
    // permission rules refuse the Read tool
    const sources = result.denials?.map((d) => d.source);
    expect(sources).toEqual(
      harness === 'codex' ? Array(5).fill('sandbox') : [...Array(4).fill('sandbox'), 'permission'],
    );
  }, 90_000);

  test('a write the harness allows but allow_write does not is caught by the workspace diff', async () => {
    const policy: Policy = { sandbox: 'workspace-write', allow_write: ['src/'], validation: 'warn' };
    const exec = execution(harness, 'Please write notes at the root.', policy);
    const before = snapshotWorkspace(exec.workspace);
    const branch = headRef(exec.workspace);
    await runners[harness]().run(exec);
    const { violations } = auditWrites(
      before,
      snapshotWorkspace(exec.workspace),
      policy,
      '.sop/runs/s/t',
      branch,
    );
    // (not the empty .git/config.worktree Claude's sandbox mounts over: the same audit as a real step)
    expect(violations).toEqual([expect.stringContaining('notes.txt')]);
  }, 90_000);

  test('a refused API key fails at once, without the harness retrying for minutes', async () => {
    const run = runners[harness]().run(execution(harness, 'Then use a bad key.', { sandbox: 'read-only' }));
    await expect(run).rejects.toThrow(HarnessFatalError);
    await expect(run).rejects.toThrow(/refused the credentials \(.*401/);
    // Without the stop a harness retries each refused request (Claude: up to 10 times, with backoff, over
    // minutes). Claude sends two requests per turn, each of which may be retried once or twice before the
    // stop lands on a loaded machine (5 seen in CI): far below its own retry budget of 2 × 11.
    expect(requestsFor('use a bad key').length).toBeLessThanOrEqual(harness === 'codex' ? 2 : 8);
  }, 90_000);

  test('a 500 is an infrastructure error for Temporal to retry (not fatal, not a rate limit)', async () => {
    const error = await runners[harness]()
      .run(execution(harness, 'Please break the server.', { sandbox: 'read-only' }))
      .then(noError, (err: unknown) => err);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(HarnessFatalError);
    expect(error).not.toBeInstanceOf(RateLimitError);
    // Codex words a 500 as "high demand"; Claude names the status
    expect(String((error as Error).message)).toMatch(
      harness === 'codex' ? /codex exited 1: .*demand/ : /500/,
    );
  }, 90_000);

  // Claude reports the API's retry-after (7 s) in its api_retry event; Codex 0.169 passes no reset time
  // through, so the runtime parks for SOP_RATE_LIMIT_WAIT_MS instead
  test('a 429 surfaces as a rate limit with a reset time', async () => {
    process.env.SOP_RATE_LIMIT_WAIT_MS = '45000';
    const started = Date.now();
    const error = await runners[harness]()
      .run(execution(harness, 'Now hit the rate limit.', { sandbox: 'read-only' }))
      .then(noError, (err: unknown) => err);
    expect(error).toBeInstanceOf(RateLimitError);
    const resetIn = (error as RateLimitError).resetAtMs - started;
    if (harness === 'claude') {
      expect(resetIn).toBeGreaterThanOrEqual(6_000);
      expect(resetIn).toBeLessThan(30_000);
    } else {
      expect(resetIn).toBeGreaterThanOrEqual(45_000);
      expect(resetIn).toBeLessThan(60_000);
    }
    delete process.env.SOP_RATE_LIMIT_WAIT_MS;
  }, 90_000);

  // Codex: the runtime resumes the session once with the validation error. Claude Code corrects a
  // missing StructuredOutput call itself, inside the same turn, before the runtime sees the result.
  test('an answer that is not the outcome JSON is corrected in the same session', async () => {
    const exec = execution(harness, 'Please answer sloppily.', { sandbox: 'read-only' });
    const result = await runners[harness]().run(exec);
    expect(result.outcome).toEqual({ route: 'done', payload: { summary: 'finished', details: 'ok' } });
    const transcript = fs.readFileSync(exec.transcriptPath, 'utf8');
    if (harness === 'codex') {
      expect(result.corrected).toMatch(/not JSON/);
      // two turns (the answer, then the correction), one session
      const threads = [...transcript.matchAll(/"thread\.started","thread_id":"([^"]+)"/g)].map((m) => m[1]);
      expect(threads).toEqual([result.sessionId, result.sessionId]);
      // resumed turns report the thread's running total: the execution's usage is the last total, not a sum
      const totals = [...transcript.matchAll(/"turn\.completed","usage":\{"input_tokens":(\d+)/g)].map((m) =>
        Number(m[1]),
      );
      expect(totals).toHaveLength(2);
      expect(totals[1]).toBeGreaterThan(totals[0]);
      expect(result.usage.inputTokens).toBe(totals[1]);
    } else {
      expect(transcript).toContain('structured-output-enforce');
    }
  }, 90_000);

  test('events of any length are parsed (a 600 KB line is one event)', async () => {
    const exec = execution(harness, 'Please produce a big file.', { sandbox: 'workspace-write' });
    const result = await runners[harness]().run(exec);
    expect(result.outcome?.route).toBe('done');
    expect(fs.statSync(path.join(exec.workspace, 'big.txt')).size).toBe(600_000);
    const lines = fs.readFileSync(exec.transcriptPath, 'utf8').split('\n');
    for (const line of lines.filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();
    if (harness === 'claude') expect(Math.max(...lines.map((l) => l.length))).toBeGreaterThan(600_000);
  }, 90_000);

  test('a conversation the scenario does not script fails fast with the reason in the transcript', async () => {
    const exec = execution(harness, 'Something nobody scripted.', { sandbox: 'read-only' });
    await expect(runners[harness]().run(exec)).rejects.toThrow(/no scenario rule matches/);
    expect(fs.readFileSync(exec.transcriptPath, 'utf8')).toContain('no scenario rule matches');
  }, 90_000);

  test('cancelling mid-command stops the harness and every process it started', async () => {
    const controller = new AbortController();
    const exec = execution(
      harness,
      'Please wait for a long time.',
      { sandbox: 'workspace-write' },
      controller.signal,
    );
    const run = runners[harness]().run(exec);
    const running = () => execaSync('pgrep', ['-f', waitMarker], { reject: false }).stdout.trim();
    for (let i = 0; i < 600 && !running(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(running()).not.toBe('');
    controller.abort();
    await expect(run).rejects.toThrow(/cancelled/);
    // the group was signalled before the run returned; give the kernel a moment to reap it
    for (let i = 0; i < 50 && running(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(running()).toBe('');
  }, 90_000);
});
