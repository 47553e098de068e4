import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { startModelServer } from '../../src/scripted-model/model-server';
import { temporalDir } from '../../src/temporal/package-paths';
import { noopItemRules, planOneItem, reviewPlan, smallRepo } from '../support/ralph-scenarios';
import { runSop } from '../support/run-sop';
import { testTarget } from '../support/temporal';

// A canary secret in the workspace's .env and in the API key handed to the harness must appear zero times
// in what the runtime keeps: the workflow history, the CLI's output and event log, and the run folder
// (prompts, transcripts, evidence, run.json, rollouts) — even when the agent tries to print both.
const fileCanary = 'canary-file-5d1e77a0';
const keyCanary = 'sk-canary-key-9b3c0f12';

test.each(['codex', 'claude'])(
  'no canary secret reaches history, logs or evidence (%s)',
  async (provider) => {
    const model = await startModelServer({
      rules: [
        {
          match: '# Plan the change',
          runs: [[{ shell: 'cat .env; printenv; echo probed' }, ...planOneItem]],
        },
        { match: '# Review the plan', runs: [reviewPlan('accepted')] },
        ...noopItemRules,
      ],
    });
    try {
      const workspace = await smallRepo('sop-canary-', { '.env': `TOKEN=${fileCanary}\n` });
      const task = `canary-${provider}`;
      const env = {
        SOP_CODEX_BASE_URL: `${model.url}/v1`,
        SOP_CLAUDE_BASE_URL: model.url,
        OPENAI_API_KEY: keyCanary,
        ANTHROPIC_API_KEY: keyCanary,
        SOP_TASK_QUEUE: 'sop-canary',
      };
      const run = await runSop(
        [
          'run',
          'ralph_loop',
          'Check the repo',
          '--workspace',
          workspace,
          '--task',
          task,
          '--provider',
          provider,
        ],
        { env, timeoutMs: 180_000 },
      );
      expect(run.exitCode).toBe(0);
      // the agent really probed: the transcript shows the command ran
      const runFolder = path.join(workspace, '.sop', 'runs', 'ralph_loop', task);
      const files = (fs.readdirSync(runFolder, { recursive: true }) as string[])
        .map((f) => path.join(runFolder, f))
        .filter((f) => fs.statSync(f).isFile());
      const kept = files.map((f) => fs.readFileSync(f, 'utf8')).join('\n');
      expect(kept).toContain('probed');

      const history = await execa(path.join(temporalDir, 'bin', 'temporal'), [
        'workflow',
        'show',
        '--workflow-id',
        `ralph_loop/${task}`,
        '--address',
        testTarget().address,
        '--output',
        'json',
      ]);
      const events = await runSop(['logs', 'ralph_loop', task, '--json'], { env });
      const show = await runSop(['runs', 'show', 'ralph_loop', task, '--json'], { env });
      const places: Array<[string, string]> = [
        ['run folder', kept],
        ['workflow history', String(history.stdout)],
        ['sop run output', `${run.stdout}${run.stderr}`],
        ['sop logs', String(events.stdout)],
        ['sop runs show', String(show.stdout)],
      ];
      for (const [where, text] of places) {
        expect({ where, file: text.includes(fileCanary), key: text.includes(keyCanary) }).toEqual({
          where,
          file: false,
          key: false,
        });
      }
    } finally {
      await model.close();
    }
  },
  240_000,
);
