import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { startModelServer } from '../../src/scripted-model/model-server';
import { packageRoot } from '../../src/temporal/package-paths';
import { killAfterAll } from '../support/kill-after-all';
import { killProcessesNaming, processesNaming } from '../support/processes';
import { smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';
import { catalogProject } from '../support/sop-project';

test('`sop worker -C DIR` prints its catalog, polls until SIGTERM, then drains and exits 0', async () => {
  const project = catalogProject('sop-worker-', { mine: 'name: mine\nsteps: {}\n' });
  const worker = execa(
    'node',
    [path.join(packageRoot, 'bin', 'sop.js'), 'worker', '--task-queue', 'shutdown-test', '-C', project],
    {
      reject: false,
      stdin: 'ignore',
      all: true,
    },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start polling:\n${output}`)), 30_000);
    worker.all?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker polling task queue shutdown-test')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const stoppedAt = Date.now();
  worker.kill('SIGTERM');
  const result = await worker;
  expect(result.exitCode).toBe(0);
  expect(result.all).toContain('worker stopped');
  // where this worker resolves every run's SOP from, in order (the shipped ones: every folder of sops/)
  const shipped = fs
    .readdirSync(path.join(packageRoot, 'sops'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  expect(shipped).toContain('bugfix');
  expect(result.all).toContain(
    [
      'catalog (the first folder that has a name wins; alter it with -C DIR, the catalog root):',
      "  1. <each run's repository>/.sop/sops/",
      `  2. ${project}/sops/: mine`,
      `  3. ${path.join(packageRoot, 'sops')}/ (shipped): ${shipped.join(', ')}`,
    ].join('\n'),
  );
  expect(Date.now() - stoppedAt).toBeLessThan(15_000);
});

test('`sop worker` stopped mid-step ends every process of the step, also one detached into a session of its own', async () => {
  const marker = `sop-shutdown-${randomUUID().slice(0, 8)}`;
  // an agent command that leaves a process in a session of its own (deaf to SIGTERM), then keeps the step busy
  const shell = `(setsid node -e "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)" ${marker} </dev/null >/dev/null 2>&1 &); node -e "setTimeout(() => {}, 300000)" ${marker}-wait`;
  const model = await startModelServer({
    rules: [
      {
        match: 'Start a daemon',
        runs: [[{ shell }, { final: { route: 'done', summary: '', details: '' } }]],
      },
    ],
  });
  const workspace = fs.realpathSync(await smallRepo('sop-shutdown-'));
  try {
    const dir = path.join(workspace, 'sops', 'busy');
    fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'prompts', 'work.md'), 'Start a daemon, then wait.\n');
    fs.writeFileSync(
      path.join(dir, 'sop.yaml'),
      [
        'name: busy',
        'title: One long step',
        'version: 1',
        'defaults: { provider: claude, policy: open }',
        'policies:',
        '  open: { sandbox: full-access }',
        'steps:',
        '  work:',
        '    prompt: prompts/work.md',
        '    routes:',
        '      done: { finish: true }',
        '',
      ].join('\n'),
    );
    const env = { SOP_CLAUDE_BASE_URL: model.url, SOP_TASK_QUEUE: 'shutdown-reap-test' };
    const worker = killAfterAll(
      execa('node', [path.join(packageRoot, 'bin', 'sop.js'), 'worker', '-C', workspace], {
        env: { ...process.env, ...env },
        reject: false,
        stdin: 'ignore',
        all: true,
        // the in-flight step gets the worker's shutdown grace (10 s) before it is cancelled
        forceKillAfterDelay: false,
      }),
    );
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not start polling:\n${output}`)), 30_000);
      worker.all?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('worker polling task queue shutdown-reap-test')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const started = await runSop(['run', 'busy', '--workspace', workspace, '--no-worker', '--detach'], {
      env,
    });
    expect({ exitCode: started.exitCode, stderr: started.stderr }).toMatchObject({ exitCode: 0 });
    for (let i = 0; i < 600 && processesNaming(`${marker}-wait`).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // the daemon and the command that keeps the step busy
    expect({ processes: processesNaming(marker), worker: output }).toMatchObject({
      processes: expect.arrayContaining([
        expect.stringContaining(`setInterval(() => {}, 1000) ${marker}`),
        expect.stringContaining(`${marker}-wait`),
      ]),
    });
    worker.kill('SIGTERM');
    const result = await worker;
    expect({ exitCode: result.exitCode, output: result.all }).toMatchObject({ exitCode: 0 });
    expect([...processesNaming(workspace), ...processesNaming(marker)]).toEqual([]);
  } finally {
    killProcessesNaming(marker);
    await model.close();
  }
}, 120_000);
