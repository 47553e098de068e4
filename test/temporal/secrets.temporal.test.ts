import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stateDir } from '../../src/harnesses/state-dir';
import { type ModelServer, startModelServer } from '../../src/scripted-model/model-server';
import { packageRoot } from '../../src/temporal/package-paths';
import { smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';
import { connectForTest, type TemporalTestContext } from '../support/temporal';

// A canary secret through `sop run`, the real worker and the real Codex and Claude Code binaries against
// the scripted model (which keeps every request body): the tool server that refers to it and the command
// step that does get it (each reports its sha256); the agent, which runs `env`, tries to read the
// secrets folder and every process's environment, never sees it; and it is nowhere in the model's
// requests, the run folder, the CLI's and worker's output, or the run's Temporal history.

const CANARY = `canary-${randomUUID()}`;
// biome-ignore lint/suspicious/noTemplateCurlyInString: how an SOP refers to a secret
const REF = '${{ secrets.SOP_TEST_CANARY }}';
const CANARY_SHA = createHash('sha256').update(CANARY).digest('hex');
const secretsDirs = path.join(stateDir(), 'secrets-*');
const SNOOP = [
  'env',
  `ls -la ${stateDir()}`,
  `cat ${secretsDirs}/*.json`,
  "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep ISSUE_TRACKER_TOKEN",
  'echo snooped',
].join('; ');

let model: ModelServer;
let temporal: TemporalTestContext;
beforeAll(async () => {
  model = await startModelServer(
    {
      rules: [
        {
          match: 'Triage with the token',
          runs: [
            [
              { mcp: { server: 'tracker', tool: 'get_issue', arguments: { id: '1' } } },
              { shell: SNOOP },
              { final: { route: 'done', summary: 'triaged', details: '' } },
            ],
          ],
        },
      ],
    },
    { recordBodies: true },
  );
  temporal = await connectForTest();
});
afterAll(async () => {
  await model.close();
  await temporal.close();
});

const lines = (file: string) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

/** Every file under a folder, as text. */
function folderText(dir: string): string {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

/** Every string and payload of a history, payload bytes decoded as UTF-8. */
function historyText(value: unknown): string {
  const parts: string[] = [];
  const visit = (v: unknown) => {
    if (v instanceof Uint8Array) parts.push(Buffer.from(v).toString('utf8'));
    else if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(value);
  return parts.join('\n');
}

function writeSop(workspace: string, harness: string, log: string) {
  const dir = path.join(workspace, 'sops', 'canary');
  fs.mkdirSync(path.join(dir, 'prompts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'prompts', 'triage.md'), '{{ input.request }}\n');
  const hashOfToken =
    "node -e \"console.log('token sha256', require('crypto').createHash('sha256').update(process.env.TOKEN).digest('hex'))\"; echo \"and as it is: $TOKEN\"";
  fs.writeFileSync(
    path.join(dir, 'sop.yaml'),
    [
      'name: canary',
      'input:',
      '  request: { type: string, minLength: 1 }',
      `defaults: { provider: ${harness}, policy: { sandbox: workspace-write } }`,
      'secrets: [SOP_TEST_CANARY]',
      'mcp_servers:',
      '  tracker:',
      `    command: ${JSON.stringify(process.execPath)}`,
      `    args: [${JSON.stringify(path.join(packageRoot, 'dist', 'scripted-model', 'issue-tracker-mcp.js'))}]`,
      '    env:',
      `      ISSUE_TRACKER_LOG: ${JSON.stringify(log)}`,
      `      ISSUE_TRACKER_TOKEN: '${REF}'`,
      'steps:',
      '  triage:',
      '    prompt: prompts/triage.md',
      '    tools: { tracker: [get_issue] }',
      '    routes:',
      '      done: check',
      '  check:',
      `    run: ${JSON.stringify(hashOfToken)}`,
      `    env: { TOKEN: '${REF}' }`,
      '    routes:',
      '      passed: bystander',
      '  bystander:',
      `    run: 'echo "bystander sees: \${SOP_TEST_CANARY:-nothing}"'`,
      '    routes:',
      '      passed: { finish: true }',
      '',
    ].join('\n'),
  );
}

describe.each(['codex', 'claude'])('%s (real binary)', (harness) => {
  test('a canary secret (from the secrets file, from the environment) reaches its tool server and the command step that refers to it, and nothing the agent sees or the run records', async () => {
    const workspace = await smallRepo(`sop-secrets-${harness}-`);
    const log = path.join(path.dirname(workspace), `${path.basename(workspace)}-tracker.jsonl`);
    // Codex's worker has it in its secrets file, Claude's in its own environment
    const secretsFile = path.join(path.dirname(workspace), `${path.basename(workspace)}.env`);
    fs.writeFileSync(secretsFile, `# the worker's secrets\nSOP_TEST_CANARY="${CANARY}"\n`);
    const source =
      harness === 'codex'
        ? { SOP_SECRETS_FILE: secretsFile }
        : { SOP_SECRETS_FILE: '', SOP_TEST_CANARY: CANARY };
    writeSop(workspace, harness, log);
    const task = `c-${harness}`;
    const requestsBefore = model.requests.length;
    const run = await runSop(
      ['run', 'canary', 'Triage with the token', '--workspace', workspace, '--task', task],
      {
        env: {
          SOP_CODEX_BASE_URL: `${model.url}/v1`,
          SOP_CLAUDE_BASE_URL: model.url,
          SOP_TASK_QUEUE: `sop-secrets-${harness}`,
          ...source,
        },
        timeoutMs: 240_000,
      },
    );
    expect(`${run.stdout}\n${run.stderr}`).toContain(`canary/${task} completed`);
    expect(run.exitCode).toBe(0);

    // the tool server had the secret in its environment
    expect(lines(log)[0]).toEqual({ token_sha256: CANARY_SHA });
    expect(lines(log)[1]).toEqual({ tool: 'get_issue', arguments: { id: '1' } });
    // so had the command step; what it printed of the value itself is redacted
    const runFolder = path.join(workspace, '.sop', 'runs', 'canary', task);
    const [check, bystander] = lines(path.join(runFolder, 'executions.jsonl'))
      .filter((l) => l.kind === 'command')
      .map((l) => fs.readFileSync(path.join(runFolder, l.path), 'utf8'));
    expect(check).toContain(`token sha256 ${CANARY_SHA}`);
    expect(check).toContain('and as it is: [secret SOP_TEST_CANARY]');
    // a command step that does not refer to it does not inherit it from the worker's environment
    expect(bystander).toContain('bystander sees: nothing');

    // the agent's commands ran (env printed the environment) and found nothing of it
    const requests = model.requests.slice(requestsBefore);
    const toolOutputs = requests.flatMap((r) => r.toolOutputs ?? []).join('\n');
    expect(toolOutputs).toContain('snooped');
    expect(toolOutputs).toMatch(/\bPATH=/);
    expect(toolOutputs).not.toContain(CANARY);
    expect(toolOutputs).not.toContain('ISSUE_TRACKER_TOKEN=');
    // nor anything else the model was sent, the run folder, the CLI's (and its worker's) output, or history
    expect(requests.map((r) => r.body ?? '').join('\n')).not.toContain(CANARY);
    expect(folderText(runFolder)).not.toContain(CANARY);
    expect(`${run.stdout}\n${run.stderr}`).not.toContain(CANARY);
    const history = await temporal.client.workflow.getHandle(`canary/${task}`).fetchHistory();
    const recorded = historyText(history);
    expect(recorded).toContain(REF);
    expect(recorded).not.toContain(CANARY);
    // the evidence names the secret the launch gave its server, never its value
    const agent = lines(path.join(runFolder, 'executions.jsonl')).find((l) => l.kind !== 'command');
    const evidence = JSON.parse(fs.readFileSync(path.join(runFolder, agent.path, 'evidence.json'), 'utf8'));
    expect(evidence.effectiveConfig.secrets).toEqual(['SOP_TEST_CANARY']);
    // the launch's secrets folder is gone
    expect(fs.readdirSync(stateDir()).filter((f) => f.startsWith('secrets-'))).toEqual([]);
  }, 300_000);
});

test('a run whose SOP needs a secret the worker does not have is refused at its start, naming it', async () => {
  const workspace = await smallRepo('sop-secrets-missing-');
  writeSop(workspace, 'claude', path.join(workspace, 'unused.jsonl'));
  const requestsBefore = model.requests.length;
  const run = await runSop(
    ['run', 'canary', 'Triage with the token', '--workspace', workspace, '--task', 'm1'],
    {
      env: { SOP_CLAUDE_BASE_URL: model.url, SOP_TASK_QUEUE: 'sop-secrets-missing', SOP_SECRETS_FILE: '' },
      timeoutMs: 120_000,
    },
  );
  expect(run.exitCode).not.toBe(0);
  expect(`${run.stdout}\n${run.stderr}`).toMatch(
    /needs the secret SOP_TEST_CANARY, which worker \S+ does not have: set it in the worker's environment or in its SOP_SECRETS_FILE/,
  );
  expect(model.requests.length).toBe(requestsBefore);
}, 120_000);
