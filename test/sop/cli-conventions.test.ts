import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { startModelServer } from '../../src/scripted-model/model-server';
import { loadScenario } from '../../src/scripted-model/scenario';

// The conventions every command keeps, checked through the built `sop` binary (npm test builds first).
const sop = path.join(__dirname, '..', '..', 'bin', 'sop.js');
const repo = path.join(__dirname, '..', '..');

test('sop --version prints the package version', async () => {
  const { version } = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
  for (const flag of ['--version', '-V']) {
    const result = await execa('node', [sop, flag], { reject: false });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  }
});

// Every command's help as the built CLI renders it, from one process (a process per command is slow).
const ALL_HELP = `
const { buildProgram } = require('./dist/cli/main');
const helps = {};
const walk = (command, words) => {
  let text = '';
  command.configureOutput({ writeOut: (s) => { text += s; } });
  command.outputHelp();
  helps[words.join(' ')] = text;
  for (const sub of command.commands) walk(sub, [...words, sub.name()]);
};
walk(buildProgram(), []);
process.stdout.write(JSON.stringify(helps));
`;

test('every --help has examples that call the command itself', async () => {
  const helps = JSON.parse((await execa('node', ['-e', ALL_HELP], { cwd: repo })).stdout) as Record<
    string,
    string
  >;
  expect(Object.keys(helps).length).toBeGreaterThan(20);
  for (const [words, help] of Object.entries(helps)) {
    const examples = help.split('\nExamples:\n')[1];
    if (!examples) throw new Error(`sop ${words} --help has no examples`);
    expect(examples).toContain(`$ sop ${words}`.trim());
  }
  // and the binary prints them
  const shown = await execa('node', [sop, 'runs', 'show', '--help']);
  expect(shown.stdout).toContain('Examples:\n  $ sop runs show bugfix t1');
});

test('a scenario reply may use {{ run.folder }} like an SOP; other SOP templates are refused by name', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-scenario-'));
  const file = path.join(dir, 'bad.yaml');
  fs.writeFileSync(
    file,
    'rules:\n  - match: plan\n    runs:\n      - - write: { path: "{{ run.folder }}/a.md", content: "{{ input.request }}" }\n',
  );
  expect(() => loadScenario(file)).toThrow(
    /rules\.0\.runs\.0\.0: unknown template \{\{ input\.request \}\}; a reply can use \{\{ run\.folder \}\} only/,
  );
});

test('the scenario example of docs/testing.md loads and has one reply of every kind', () => {
  const readme = fs.readFileSync(path.join(repo, 'docs', 'testing.md'), 'utf8');
  const example =
    /<!-- scenario-example:start -->\n```yaml\n([\s\S]*?)```\n<!-- scenario-example:end -->/.exec(readme);
  expect(example).not.toBeNull();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-scenario-')), 'readme.yaml');
  fs.writeFileSync(file, example![1]);
  const scenario = loadScenario(file);
  const kinds = new Set(
    scenario.rules.flatMap((r) => r.runs.flatMap((replies) => replies.map((reply) => Object.keys(reply)[0]))),
  );
  expect([...kinds].sort()).toEqual([
    'error',
    'final',
    'mcp',
    'message',
    'read',
    'shell',
    'stall',
    'tool',
    'wait',
    'write',
  ]);
});

test('the scripted model fills {{ run.folder }} with the whole run folder, whatever characters the task id holds', async () => {
  const server = await startModelServer({
    rules: [
      {
        match: 'Write the report',
        runs: [[{ write: { path: '{{ run.folder }}/report.md', content: 'x\n' } }]],
      },
    ],
  });
  try {
    // a scheduled run's task id: the trigger name and the fire time, with its ":" (every task id character)
    for (const task of ['hourly-2026-12-07T18:00:00Z', 'a.b_c-9:0']) {
      const folder = `.sop/runs/tick/${task}`;
      const response = await fetch(`${server.url}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          input: [
            {
              type: 'message',
              role: 'user',
              content: `Write the report to ${folder}/report.md (artifact report).`,
            },
          ],
        }),
      });
      expect(response.status).toBe(200);
      const stream = await response.text();
      expect(stream).toContain(`${folder}/report.md`);
    }
  } finally {
    await server.close();
  }
});

test('a command ends quietly, exit 0, when the reader of its output goes away (sop … | head)', async () => {
  // `true` exits before the command writes: every write meets a closed pipe
  for (const args of ['--help', 'triggers --help', 'runs show --help', 'workflows list', 'validate --json']) {
    const result = await execa(
      'bash',
      ['-c', `node ${sop} ${args} | true; echo "exit $\{PIPESTATUS[0]}" >&2`],
      {
        cwd: repo,
        reject: false,
      },
    );
    expect(`${args}: ${result.stderr}`).toBe(`${args}: exit 0`);
  }
});
