import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { startModelServer } from '../../src/scripted-model/model-server';
import { noopItemRules, planOneItem, reviewPlan, smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';

// Harness failures with the real Codex binary: a harness that hangs without output is killed and launched
// again; a harness killed with SIGKILL mid-command (with its whole process group) is launched again; the
// run completes, and every launch keeps its own folder, evidence and line in executions.jsonl.
const marker = `sop-chaos-${Date.now().toString(36)}`;

test('a hung harness and a crashed harness are both launched again, each launch recorded, and the run completes', async () => {
  const planned = planOneItem;
  const reviewed = reviewPlan('accepted');
  const model = await startModelServer({
    rules: [
      // first conversation: the model stream stays open and silent (a hang); the retry plans
      { match: '# Plan the change', runs: [[{ stall: { ms: 600_000 } }], planned] },
      // first conversation: a long command, during which the test kills the harness; the retry reviews
      {
        match: '# Review the plan',
        runs: [
          [{ shell: `node -e "setTimeout(() => {}, 300000)" ${marker}` }, { message: 'never' }],
          reviewed,
        ],
      },
      ...noopItemRules,
    ],
  });
  try {
    const workspace = await smallRepo('sop-chaos-');
    const run = runSop(
      ['run', 'ralph_loop', 'Anything', '--workspace', workspace, '--task', 'chaos', '--json'],
      {
        env: {
          SOP_CODEX_BASE_URL: `${model.url}/v1`,
          SOP_TASK_QUEUE: 'sop-chaos',
          // long enough that a slow start-up on a loaded machine is not taken for a hang (CI saw a
          // retry's start-up exceed 4 s), short enough that the stalled first attempt ends soon
          SOP_HARNESS_IDLE_MS: '15000',
        },
        timeoutMs: 240_000,
      },
    );

    // crash: SIGKILL the harness's whole process group while its command runs
    let pid = '';
    for (let i = 0; i < 1200 && !pid; i++) {
      pid = (await execa('pgrep', ['-f', marker], { reject: false })).stdout.trim().split('\n')[0] ?? '';
      if (!pid) await new Promise((r) => setTimeout(r, 100));
    }
    expect(pid).not.toBe('');
    const pgid = (await execa('ps', ['-o', 'pgid=', '-p', pid])).stdout.trim();
    process.kill(-Number(pgid), 'SIGKILL');

    const result = await run;
    expect(result.exitCode).toBe(0);
    const out = JSON.parse(String(result.stdout));
    expect(out.status).toBe('completed');
    const evidence = (folder: string) =>
      JSON.parse(
        fs.readFileSync(path.join(out.runFolder, 'steps', 'plan', folder, 'evidence.json'), 'utf8'),
      ) as { launch: number; launchFailure: string | null; outcome: { route: string } | null };
    // every launch keeps its own folder and evidence: the failed ones say why, the relaunches succeeded,
    // and no extra protocol attempt was spent
    expect(evidence('0001-producer-a1-l1')).toMatchObject({
      launch: 1,
      launchFailure: expect.stringMatching(/printed nothing for 15 s and was killed as hung/),
      outcome: null,
    });
    expect(evidence('0002-producer-a1-l2')).toMatchObject({
      launchFailure: null,
      outcome: { route: 'done' },
    });
    expect(evidence('0003-verifier-a1-l1')).toMatchObject({
      launchFailure: expect.stringMatching(/codex exited/),
      outcome: null,
    });
    expect(evidence('0004-verifier-a1-l2')).toMatchObject({ outcome: { route: 'accepted' } });
    const transcript = (folder: string) =>
      fs.readFileSync(path.join(out.runFolder, 'steps', 'plan', folder, 'transcript.jsonl'), 'utf8');
    expect(transcript('0001-producer-a1-l1').match(/"type":"thread\.started"/g)).toHaveLength(1);
    expect(transcript('0002-producer-a1-l2').match(/"type":"thread\.started"/g)).toHaveLength(1);

    // executions.jsonl: a line per launch, the failed ones not accepted with the reason; every launch
    // counts as an agent run
    const lines = fs
      .readFileSync(path.join(out.runFolder, 'executions.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; step: string; accepted: boolean; reason: string | null });
    const agentLines = lines.filter((l) => l.kind === 'agent');
    expect(agentLines.filter((l) => l.step === 'plan').map((l) => l.accepted)).toEqual([
      false,
      true,
      false,
      true,
    ]);
    expect(agentLines[0].reason).toMatch(/killed as hung/);
    expect(out.result.usage.agentRuns).toBe(agentLines.length);

    // sop logs --events shows both failed launches and the relaunches
    const events = await runSop(['logs', 'ralph_loop', 'chaos'], { env: { SOP_TASK_QUEUE: 'sop-chaos' } });
    expect(String(events.stdout)).toMatch(
      /launch failed +plan · producer · attempt 1 · codex: codex printed nothing/,
    );
    expect(String(events.stdout)).toMatch(/launch failed +plan · verifier · attempt 1 · codex: codex exited/);
    expect(String(events.stdout).match(/relaunch +plan · /g)).toHaveLength(2);
  } finally {
    await model.close();
  }
}, 300_000);
