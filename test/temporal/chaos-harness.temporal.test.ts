import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { startModelServer } from '../../src/testing/model-server';
import { noopItemRules, planOneItem, reviewPlan, smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';

// Harness failures with the real Codex binary: a harness that hangs without output is killed and the step
// retried; a harness killed with SIGKILL mid-command (with its whole process group) is retried; the run
// completes and the evidence records which activity attempt succeeded.
const marker = `sop-chaos-${Date.now().toString(36)}`;

test('a hung harness and a crashed harness are both retried, and the run completes', async () => {
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
    const evidence = (step: string) =>
      JSON.parse(
        fs.readFileSync(path.join(out.runFolder, 'steps', 'plan', step, 'evidence.json'), 'utf8'),
      ) as { activityAttempt: number; outcome: { route: string } };
    // both succeeded on the second activity attempt, with no extra protocol attempt spent
    expect(evidence('0001-producer-a1')).toMatchObject({ activityAttempt: 2, outcome: { route: 'done' } });
    expect(evidence('0002-verifier-a1')).toMatchObject({
      activityAttempt: 2,
      outcome: { route: 'accepted' },
    });
    const transcript = fs.readFileSync(
      path.join(out.runFolder, 'steps', 'plan', '0001-producer-a1', 'transcript.jsonl'),
      'utf8',
    );
    expect(transcript.match(/"type":"thread\.started"/g)).toHaveLength(2);
  } finally {
    await model.close();
  }
}, 300_000);
