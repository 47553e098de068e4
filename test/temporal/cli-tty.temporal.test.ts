import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../../src/temporal/package-paths';
import { startModelServer } from '../../src/testing/model-server';

// `sop run` on a terminal asks for a pending answer itself. util-linux `script` gives the CLI a real pty;
// the test types at the prompt like a person would.
test('attached on a TTY, sop run asks for the approval and the run continues with it', async () => {
  const review = (route: string) => [
    { write: { path: '{{ run_folder }}/plan_review.md', content: `Verdict: ${route}\n` } },
    { final: { route, summary: route, details: 'the plan is too vague' } },
  ];
  const model = await startModelServer({
    rules: [
      {
        match: '# Plan the change',
        runs: [
          [
            {
              write: {
                path: '{{ run_folder }}/work.json',
                content:
                  '{ "summary": "s", "items": [{ "id": "noop", "title": "Nothing", "status": "todo" }] }\n',
              },
            },
            { final: { route: 'done', summary: 'planned', details: '' } },
          ],
        ],
      },
      { match: '# Review the plan', runs: [review('needs_rework')] },
      { match: 'Implement item **noop', runs: [[{ final: { route: 'done', summary: 'n', details: '' } }]] },
      {
        match: '/Item \\*\\*noop[\\s\\S]*has just been implemented/',
        runs: [
          [
            { write: { path: '{{ run_folder }}/items/noop/review.md', content: 'Verdict: accepted\n' } },
            { final: { route: 'accepted', summary: 'fine', details: '' } },
          ],
        ],
      },
    ],
  });
  try {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-tty-'));
    fs.writeFileSync(path.join(workspace, 'README.md'), 'a repo\n');
    await execa('git', ['init', '-q'], { cwd: workspace });
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
    const session = execa('script', ['-qfec', command, '/dev/null'], { env, reject: false, all: true });
    let output = '';
    let answered = false;
    session.all?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!answered && output.includes('approve? [y/N')) {
        answered = true;
        session.stdin?.write('y\r');
      }
    });
    const result = await session;
    expect(output).toContain('waiting for input: The plan was rejected 1 times');
    expect(output).toContain('answer accepted');
    expect(output).toMatch(/ralph_loop\/tty completed/);
    expect(result.exitCode).toBe(0);
  } finally {
    await model.close();
  }
}, 240_000);
