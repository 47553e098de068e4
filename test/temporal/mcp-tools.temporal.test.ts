import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import { packageRoot } from '../../src/temporal/package-paths';
import { smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';

// A step's MCP tool server as a user declares it in sop.yaml, through `sop run`, the real worker and the
// real Claude Code binary against the scripted model: the allowed call reaches the shipped issue tracker,
// the call outside the allowlist does not, and both are in the run's record.
let model: ModelServer;
beforeAll(async () => {
  model = await startModelServer({
    rules: [
      {
        match: 'Triage issue 1',
        runs: [
          [
            { mcp: { server: 'tracker', tool: 'get_issue', arguments: { id: '1' } } },
            { mcp: { server: 'tracker', tool: 'add_comment', arguments: { id: '1', body: 'closing' } } },
            { final: { route: 'done', summary: 'triaged', details: '' } },
          ],
        ],
      },
    ],
  });
});
afterAll(() => model.close());

const lines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('a step calls the allowed tool of its MCP server; a call outside its tools: is denied, and both calls are in executions.jsonl and the evidence', async () => {
  const workspace = await smallRepo('sop-mcp-');
  const log = path.join(path.dirname(workspace), `${path.basename(workspace)}-tracker.jsonl`);
  const dir = path.join(workspace, 'sops', 'triage');
  fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'prompts', 'triage.md'), '{{ input.request }}\n');
  fs.writeFileSync(
    path.join(dir, 'sop.yaml'),
    [
      'name: triage',
      'input:',
      '  request: { type: string, minLength: 1 }',
      'defaults: { provider: claude }',
      'mcp_servers:',
      '  tracker:',
      `    command: ${JSON.stringify(process.execPath)}`,
      `    args: [${JSON.stringify(path.join(packageRoot, 'dist', 'scripted-model', 'issue-tracker-mcp.js'))}]`,
      `    env: { ISSUE_TRACKER_LOG: ${JSON.stringify(log)} }`,
      'steps:',
      '  triage:',
      '    prompt: prompts/triage.md',
      '    tools: { tracker: [get_issue] }',
      '    routes:',
      '      done: { finish: true }',
      '',
    ].join('\n'),
  );
  const env = { SOP_CLAUDE_BASE_URL: model.url, SOP_TASK_QUEUE: 'sop-mcp-e2e' };
  const run = await runSop(['run', 'triage', 'Triage issue 1', '--workspace', workspace, '--task', 't1'], {
    env,
    timeoutMs: 240_000,
  });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toContain('triage/t1 completed with 1 denied tool call');
  // only the allowed call reached the server
  expect(lines(log)).toEqual([{ tool: 'get_issue', arguments: { id: '1' } }]);

  const runFolder = path.join(workspace, '.sop', 'runs', 'triage', 't1');
  const [execution] = lines(path.join(runFolder, 'executions.jsonl'));
  expect(execution.mcpCalls).toEqual([
    expect.objectContaining({ server: 'tracker', tool: 'get_issue', denied: false }),
    expect.objectContaining({ server: 'tracker', tool: 'add_comment', denied: true, resultBytes: 0 }),
  ]);
  expect(execution.denials).toEqual([
    expect.objectContaining({ tool: 'mcp__tracker__add_comment', target: 'tracker', source: 'permission' }),
  ]);
  const evidence = JSON.parse(fs.readFileSync(path.join(runFolder, execution.path, 'evidence.json'), 'utf8'));
  expect(evidence.mcpCalls).toEqual(execution.mcpCalls);
  expect(evidence.effectiveConfig.tools).toEqual([
    expect.objectContaining({
      server: 'tracker',
      allow: ['get_issue'],
      spec: expect.objectContaining({ env: { ISSUE_TRACKER_LOG: '[redacted]' } }),
    }),
  ]);
  // what the agent sent the tool is not in the record, only its hash
  expect(JSON.stringify(evidence.mcpCalls)).not.toContain('closing');
}, 300_000);
