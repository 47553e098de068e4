import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../../src/temporal/package-paths';
import { createTestDevServer } from '../support/dev-server';
import { runSop } from '../support/run-sop';

test('`sop doctor` reports Temporal and harness state, naming credentials without printing them', async () => {
  const canary = 'sk-ant-canary-3f9c1d';
  const result = await runSop(['doctor', '--json'], {
    env: { ANTHROPIC_API_KEY: canary, SOP_CODEX_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: '' },
  });
  const checks = JSON.parse(String(result.stdout)) as Array<{ name: string; ok: boolean; detail: string }>;
  const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
  expect(byName['temporal reachable']).toMatchObject({ ok: true });
  expect(byName['temporal reachable'].detail).toContain(`127.0.0.1:${process.env.SOP_TEMPORAL_PORT}`);
  expect(byName['claude model API']).toMatchObject({
    ok: true,
    detail: expect.stringContaining('ANTHROPIC_API_KEY is set'),
  });
  // a loopback base URL (the scripted model server) needs no key
  expect(byName['codex model API']).toMatchObject({ ok: true, detail: expect.stringContaining('loopback') });
  // versions come from the pinned packages
  const pkg = require('../../package.json') as { dependencies: Record<string, string> };
  expect(byName['codex harness'].detail).toContain(pkg.dependencies['@openai/codex']);
  expect(byName['claude harness'].detail).toContain(pkg.dependencies['@anthropic-ai/claude-code']);
  // the Node version against the runtime's engines and what each harness package declares
  expect(byName.node).toMatchObject({ ok: true, detail: `${process.version} (the runtime needs >=20.19)` });
  expect(byName['node for codex']).toMatchObject({
    ok: true,
    detail: expect.stringContaining('declares node'),
  });
  expect(byName['node for claude']).toMatchObject({
    ok: true,
    detail: expect.stringContaining('native binary'),
  });
  expect(`${result.stdout}${result.stderr}`).not.toContain(canary);
  // anything failing makes doctor exit 1 with the failing checks named
  if (checks.some((c) => !c.ok)) {
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/check\(s\) failed: /);
  } else expect(result.exitCode).toBe(0);
});

let stopDev: (() => Promise<void>) | undefined;
afterAll(async () => {
  await stopDev?.();
});

test('`sop dev --scenario` serves runs offline (dev server, worker, scripted model); Ctrl-C stops all', async () => {
  const server = await createTestDevServer();
  const scenario = path.join(packageRoot, 'examples', 'demo', 'ralph_loop.scenario.yaml');
  const dev = execa('node', [path.join(packageRoot, 'bin', 'sop.js'), 'dev', '--scenario', scenario], {
    env: { ...process.env, ...server.env },
    reject: false,
    stdin: 'ignore',
    all: true,
  });
  // a failed assertion must not leave `sop dev` (and its dev server) running: jest would never exit
  stopDev = async () => {
    if (dev.exitCode === undefined || dev.exitCode === null) {
      dev.kill('SIGINT');
      await dev;
    }
  };
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sop dev did not come up:\n${output}`)), 60_000);
    dev.all?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ctrl-C stops everything')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const serverPid = server.pid()!;
  expect(() => process.kill(serverPid, 0)).not.toThrow();
  // both base URLs exactly as the variables take them (Codex's with /v1, Claude's without)
  const urls = /SOP_CODEX_BASE_URL=(\S+) SOP_CLAUDE_BASE_URL=(\S+)/.exec(output);
  expect(urls?.[1]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  expect(urls?.[2]).toBe(urls?.[1].replace(/\/v1$/, ''));

  // a run started elsewhere (no in-process worker) is served by the dev worker and the scripted model
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-dev-'));
  fs.cpSync(path.join(packageRoot, 'examples', 'slugify'), workspace, { recursive: true });
  await execa('git', ['init', '-q'], { cwd: workspace });
  const run = await runSop(
    [
      'run',
      'ralph_loop',
      'Make slugify collapse whitespace and drop punctuation',
      '--workspace',
      workspace,
      '--no-worker',
      '--json',
    ],
    // the run lives on the `sop dev` server, not on the tests' server the agreement helper reads
    { env: { ...server.env, SOP_CODEX_BASE_URL: '' }, timeoutMs: 180_000, agreement: false },
  );
  expect(run.exitCode).toBe(0);
  expect(JSON.parse(String(run.stdout)).status).toBe('completed');
  // run.json and executions.jsonl in the run folder tell the story without Temporal
  const runFolder = JSON.parse(String(run.stdout)).runFolder;
  const summary = JSON.parse(fs.readFileSync(path.join(runFolder, 'run.json'), 'utf8'));
  expect(summary.status).toBe('completed');
  const executions = fs
    .readFileSync(path.join(runFolder, summary.executionsFile), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(executions.length).toBe(summary.usage.agentRuns);
  expect(executions[0]).toMatchObject({
    kind: 'agent',
    step: 'plan',
    role: 'producer',
    route: 'done',
    provider: 'codex',
  });
  expect(fs.existsSync(path.join(runFolder, executions[0].path, 'evidence.json'))).toBe(true);

  dev.kill('SIGINT');
  const result = await dev;
  expect(result.exitCode).toBe(0);
  expect(result.all).toContain(`stopped Temporal dev server (pid ${serverPid})`);
  expect(() => process.kill(serverPid, 0)).toThrow();
}, 240_000);
