import * as path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { execa } from 'execa';
import { startModelServer } from '../../src/scripted-model/model-server';
import { packageRoot } from '../../src/temporal/package-paths';
import { expectAgreement } from '../support/agreement';
import { noopItemRules, planOneItem, reviewPlan, smallRepo } from '../support/ralph-scenarios';

// `sop run` on a terminal asks for a pending answer itself. util-linux `script` gives the CLI a real pty;
// the test types at the prompt like a person would.
test('attached on a TTY, sop run asks for the approval and the run continues with it', async () => {
  const model = await startModelServer({
    rules: [
      { match: '# Plan the change', runs: [planOneItem] },
      { match: '# Review the plan', runs: [reviewPlan('needs_rework')] },
      ...noopItemRules,
    ],
  });
  try {
    const workspace = await smallRepo('sop-tty-');
    const command = [
      'node',
      path.join(packageRoot, 'bin', 'sop.js'),
      'run',
      'ralph_loop',
      'Anything',
      '--workspace',
      workspace,
      '--task',
      'tty',
      '--param',
      'max_rework=0',
    ].join(' ');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SOP_CODEX_BASE_URL: `${model.url}/v1`,
      SOP_TASK_QUEUE: 'sop-tty',
    };
    delete env.CI;
    const session = execa('script', ['-qfec', command, '/dev/null'], {
      env,
      extendEnv: false,
      reject: false,
      all: true,
    });
    let output = '';
    let answered = false;
    session.all?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!answered && output.includes('approve? [y/N')) {
        answered = true;
        session.stdin?.write('y\r');
      }
    });
    // a hung session is stopped so the assertions below show what the terminal printed
    const deadline = setTimeout(() => session.kill('SIGKILL'), 150_000);
    const result = await session.finally(() => clearTimeout(deadline));
    if (result.exitCode !== 0) console.error(`terminal output:\n${output}`);
    expect(output).toContain('waiting for input: The plan was rejected 1 times');
    expect(output).toContain('answer accepted');
    expect(output).toMatch(/ralph_loop\/tty completed/);
    expect(result.exitCode).toBe(0);
    // the terminal's final line agrees with every record of the run (colours and prompts stripped)
    const plain = stripVTControlCharacters(output).replace(/\r/g, '');
    await expectAgreement({ sop: 'ralph_loop', task: 'tty', cli: { stdout: plain, stderr: '' } });
  } finally {
    await model.close();
  }
}, 240_000);
