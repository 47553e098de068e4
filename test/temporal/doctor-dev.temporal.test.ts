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
  expect(`${result.stdout}${result.stderr}`).not.toContain(canary);
  // anything failing makes doctor exit 1 with the failing checks named
  if (checks.some((c) => !c.ok)) {
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/check\(s\) failed: /);
  } else expect(result.exitCode).toBe(0);
});

test('`sop dev` starts a dev server and a worker; Ctrl-C stops both', async () => {
  const server = await createTestDevServer();
  const dev = execa('node', [path.join(packageRoot, 'bin', 'sop.js'), 'dev'], {
    env: { ...process.env, ...server.env },
    reject: false,
    stdin: 'ignore',
    all: true,
  });
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
  dev.kill('SIGINT');
  const result = await dev;
  expect(result.exitCode).toBe(0);
  expect(result.all).toContain(`stopped Temporal dev server (pid ${serverPid})`);
  expect(() => process.kill(serverPid, 0)).toThrow();
}, 90_000);
