import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { execa } from 'execa';
import { startModelServer } from '../../src/scripted-model/model-server';
import { packageRoot } from '../../src/temporal/package-paths';
import { freePort } from '../support/free-port';
import { planOneItem, smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';
import { connectForTest, type TemporalTestContext } from '../support/temporal';

// No silent waits, with the real Codex binary: a model API without a key or out of reach fails the step
// at once with the reason; Ctrl-C on an attached run stops following it without an SDK error.

let ctx: TemporalTestContext;
beforeAll(async () => {
  ctx = await connectForTest();
});
afterAll(async () => {
  await ctx?.close();
});

const queue = () => ({ SOP_TASK_QUEUE: `no-silent-${randomUUID().slice(0, 8)}` });

test('Codex without a key for a remote model API fails the step at once, naming the variable', async () => {
  const workspace = await smallRepo('sop-nokey-');
  const result = await runSop(
    ['run', 'ralph_loop', 'Anything', '--workspace', workspace, '--task', 'nokey'],
    {
      env: { ...queue(), SOP_CODEX_BASE_URL: 'https://models.example.invalid/v1', OPENAI_API_KEY: '' },
      timeoutMs: 120_000,
    },
  );
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toMatch(/ralph_loop\/nokey failed: .*OPENAI_API_KEY is not set/);
  expect(result.stderr).toContain('https://models.example.invalid/v1');
}, 150_000);

test('Codex against a model API nobody answers fails the step with the reason instead of waiting for a network', async () => {
  const workspace = await smallRepo('sop-unreachable-');
  const port = await freePort();
  const result = await runSop(
    ['run', 'ralph_loop', 'Anything', '--workspace', workspace, '--task', 'unreachable'],
    {
      env: { ...queue(), SOP_CODEX_BASE_URL: `http://127.0.0.1:${port}/v1` },
      // Codex alone would print "Reconnecting... waiting for network" forever
      timeoutMs: 120_000,
    },
  );
  expect(result.exitCode).toBe(1);
  expect(result.stderr).toMatch(
    new RegExp(
      `ralph_loop/unreachable failed: .*model API at http://127\\.0\\.0\\.1:${port}/v1 cannot be reached`,
    ),
  );
}, 150_000);

test('Ctrl-C on an attached sop run stops following: a one-line message, exit 130, the run is kept', async () => {
  // the planner's model stalls, so the run is surely in its first step when Ctrl-C comes
  const model = await startModelServer({
    rules: [{ match: '# Plan the change', runs: [[{ stall: { ms: 120_000 } }, ...planOneItem]] }],
  });
  const task = `sigint-${randomUUID().slice(0, 6)}`;
  try {
    const workspace = await smallRepo('sop-sigint-');
    const child = execa(
      'node',
      [
        path.join(packageRoot, 'bin', 'sop.js'),
        'run',
        'ralph_loop',
        'Anything',
        '--workspace',
        workspace,
        '--task',
        task,
      ],
      {
        env: { ...process.env, ...queue(), SOP_CODEX_BASE_URL: `${model.url}/v1` },
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      },
    );
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`no progress line; stderr so far:\n${stderr}`)),
        90_000,
      );
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/running: plan/.test(stderr)) {
          clearTimeout(deadline);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain(`stopped following ralph_loop/${task} (Ctrl-C)`);
    expect(result.stderr).toContain(`sop cancel ralph_loop/${task}`);
    expect(result.stderr).not.toMatch(/Promise did not resolve|Error:| {4}at /);
    // the run is still there, waiting for a worker
    const description = await ctx.client.workflow.getHandle(`ralph_loop/${task}`).describe();
    expect(description.status.name).toBe('RUNNING');
  } finally {
    await ctx.client.workflow
      .getHandle(`ralph_loop/${task}`)
      .terminate('test over')
      .catch(() => undefined);
    await model.close();
  }
}, 180_000);
