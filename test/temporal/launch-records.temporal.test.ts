import * as fs from 'node:fs';
import * as path from 'node:path';
import { startModelServer } from '../../src/scripted-model/model-server';
import { smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';

// Every launch keeps its own record, through the CLI with the real Codex binary on the scripted model
// server: launches the model API failed (HTTP 500) and an execution the runtime rejected for a policy
// violation each get their folder and a line in executions.jsonl saying they were not accepted and why.
const SOP = `name: mini
steps:
  work:
    prompt: prompts/work.md
    policy: { sandbox: workspace-write, allow_write: [out/] }
    max_launch_failures: 5
    routes:
      done: { finish: true }
`;

interface Line {
  kind: string;
  step: string;
  path: string;
  launch: number;
  accepted: boolean;
  reason: string | null;
  route: string | null;
  launchFailure: string | null;
}

test('failed launches (HTTP 500) and a policy-violation rejection are each recorded as not accepted, with the reason', async () => {
  const error500 = { error: { status: 500, body: { error: { message: 'scripted 500' } } } };
  const model = await startModelServer({
    rules: [
      {
        match: 'Write the report',
        runs: [
          // Codex retries a 500 itself (request and stream retries): up to four conversations per failed
          // launch, so these make two to four failed launches
          ...Array.from({ length: 8 }, () => [error500]),
          // the first answer writes outside allow_write: not accepted, fed back
          [
            { write: { path: 'notes.txt', content: 'stray\n' } },
            { final: { route: 'done', summary: 'wrote notes', details: '' } },
          ],
          [
            { write: { path: 'out/report.md', content: '# Report\n' } },
            { final: { route: 'done', summary: 'wrote the report', details: '' } },
          ],
        ],
      },
    ],
  });
  try {
    const workspace = await smallRepo('sop-launches-');
    const sopDir = path.join(workspace, '.sop', 'sops', 'mini');
    fs.mkdirSync(path.join(sopDir, 'prompts'), { recursive: true });
    fs.writeFileSync(path.join(sopDir, 'sop.yaml'), SOP);
    fs.writeFileSync(path.join(sopDir, 'prompts', 'work.md'), 'Write the report into out/report.md.\n');
    const env = { SOP_CODEX_BASE_URL: `${model.url}/v1`, SOP_TASK_QUEUE: 'sop-launch-records' };
    const result = await runSop(['run', 'mini', '--workspace', workspace, '--task', 'l1', '--json'], {
      env,
      cwd: workspace,
      timeoutMs: 240_000,
    });
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toMatchObject({ exitCode: 0 });
    let out: { status: string; runFolder: string; result: { usage: { agentRuns: number } } };
    try {
      out = JSON.parse(String(result.stdout));
    } catch {
      throw new Error(`sop run --json printed more than JSON on stdout:\n${result.stdout}`);
    }
    expect(out.status).toBe('completed');

    const lines = fs
      .readFileSync(path.join(out.runFolder, 'executions.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line)
      .filter((l) => l.kind === 'agent');
    const failed = lines.filter((l) => l.launchFailure);
    expect(failed.length).toBeGreaterThanOrEqual(2);
    for (const l of failed) {
      expect(l).toMatchObject({ accepted: false, route: null });
      expect(l.reason).toBe(l.launchFailure);
      expect(l.reason).toMatch(/codex exited/);
    }
    const [rejected, accepted] = lines.slice(failed.length);
    expect(rejected).toMatchObject({ accepted: false, route: 'done', launchFailure: null });
    expect(rejected.reason).toMatch(/^policy violation: .*notes\.txt/);
    expect(accepted).toMatchObject({ accepted: true, reason: null, route: 'done' });
    expect(lines).toHaveLength(failed.length + 2);
    // one folder per launch, each with its prompt, transcript and evidence
    expect(new Set(lines.map((l) => l.path)).size).toBe(lines.length);
    for (const l of lines) {
      const evidence = JSON.parse(fs.readFileSync(path.join(out.runFolder, l.path, 'evidence.json'), 'utf8'));
      expect(evidence.launchFailure).toBe(l.launchFailure);
      expect(fs.existsSync(path.join(out.runFolder, l.path, 'transcript.jsonl'))).toBe(true);
    }
    // every launch is an agent run
    expect(out.result.usage.agentRuns).toBe(lines.length);

    const shown = await runSop(['runs', 'show', 'mini', 'l1'], { env, cwd: workspace });
    expect(String(shown.stdout)).toContain(`step work: ${failed.length} failed launches`);
    expect(String(shown.stdout)).toContain(`usage: ${lines.length} agent runs`);
    const events = String((await runSop(['logs', 'mini', 'l1', '--events'], { env, cwd: workspace })).stdout);
    expect(events.match(/launch failed +work · agent · attempt 1 · codex[^:]*: codex exited/g)).toHaveLength(
      failed.length,
    );
    expect(events.match(/relaunch +work · agent · attempt 1 · codex in \d+ s: launch failed/g)).toHaveLength(
      failed.length,
    );
  } finally {
    await model.close();
  }
}, 300_000);
