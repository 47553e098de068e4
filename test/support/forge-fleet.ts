// Runs with deliveries in the workflow tier: a scripted forge holding acme/widgets (main, one issue), a fleet
// worker in this process (the shared queue and its own, as `sop worker` has) whose harness is the scripted
// stand-in and whose forge credential is a token of that forge, and runs started by run request with repo.url
// on the forge's git remote, so the run branch is fetched and pushed over HTTP with the worker's credential.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { type ScriptedForge, startScriptedForge } from '../../src/scripted-forge/server';
import type { ExecutionPlan } from '../../src/shapes/execution-plan';
import type { RunOptions, RunResult } from '../../src/shapes/run';
import { createFleetWorker } from '../../src/worker/create-worker';
import { servePlans } from './plans';
import { git, REPO } from './scripted-forge';
import type { ScriptedRunner } from './scripted-runner';
import type { TemporalTestContext } from './temporal';

export const FULL_NAME = `${REPO.owner}/${REPO.repo}`;
export const TOKEN = 'ghs_workflowtier0000000000000000000000';

export interface ForgeWorld {
  forge: ScriptedForge;
  cloneUrl: string;
  issue: number;
  /** the worker's environment for the forge */
  env: NodeJS.ProcessEnv;
  workRoot: string;
  close(): Promise<void>;
}

/**
 * A scripted forge with acme/widgets (its default branch, `main` unless given, with one commit; `branches` are
 * pushed too, one commit further each) and issue #1; the token may write.
 */
export async function forgeWorld(
  options: { defaultBranch?: string; branches?: string[] } = {},
): Promise<ForgeWorld> {
  const forge = await startScriptedForge();
  const main = options.defaultBranch ?? 'main';
  const { dir, cloneUrl } = forge.addRepo(FULL_NAME, { defaultBranch: main });
  const seed = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-forge-seed-'));
  git(seed, ['init', '--quiet', `--initial-branch=${main}`]);
  fs.writeFileSync(path.join(seed, 'README.md'), 'widgets\n');
  git(seed, ['add', '.']);
  git(seed, ['commit', '--quiet', '-m', 'start']);
  git(seed, ['push', '--quiet', dir, main]);
  for (const branch of options.branches ?? []) {
    git(seed, ['checkout', '--quiet', '-b', branch, main]);
    fs.writeFileSync(path.join(seed, `${branch}.txt`), `${branch}\n`);
    git(seed, ['add', '.']);
    git(seed, ['commit', '--quiet', '-m', branch]);
    git(seed, ['push', '--quiet', dir, branch]);
  }
  forge.addToken(TOKEN, { login: 'sop-bot', write: true });
  const issue = forge.addIssue(FULL_NAME, { title: 'widgets break on Mondays' });
  // outside /tmp: the work root rule of `sop worker`
  const workRoot = fs.mkdtempSync(path.join(os.homedir(), '.sop-forge-wt-'));
  return {
    forge,
    cloneUrl,
    issue,
    env: { SOP_GITHUB_API_URL: forge.url, SOP_GITHUB_TOKEN: TOKEN },
    workRoot,
    async close() {
      await forge.close();
      fs.rmSync(workRoot, { recursive: true, force: true });
      fs.rmSync(seed, { recursive: true, force: true });
    },
  };
}

export interface ForgeRun {
  handle: WorkflowHandle;
  taskQueue: string;
  result?: RunResult;
  error?: Error & { cause?: Error };
}

/**
 * Starts `p` by run request with repo.url on the world's remote, on an in-process fleet worker serving `p`
 * with the scripted runner and `forgeEnv` (default: the world's token), and hands the run to `fn`.
 */
export async function withForgeRun<T>(
  ctx: TemporalTestContext,
  world: ForgeWorld,
  p: ExecutionPlan,
  runner: ScriptedRunner,
  fn: (run: { handle: WorkflowHandle; taskQueue: string }) => Promise<T>,
  options: {
    task?: string;
    /** repo.ref of the run request */
    ref?: string;
    input?: Record<string, unknown>;
    forgeEnv?: NodeJS.ProcessEnv;
    runOptions?: RunOptions;
  } = {},
): Promise<T> {
  const taskQueue = `forge-${randomUUID().slice(0, 8)}`;
  const worker = await createFleetWorker({
    connection: ctx.connection,
    target: ctx.target,
    taskQueue,
    activities: {
      runners: { codex: runner, claude: runner },
      ...servePlans(p),
      runOptions: options.runOptions ?? {},
      forgeEnv: options.forgeEnv ?? world.env,
      workRoot: world.workRoot,
    },
  });
  const running = worker.run();
  try {
    const task = options.task ?? randomUUID().slice(0, 8);
    const handle = await ctx.client.workflow.start(p.sop, {
      workflowId: `${p.sop}/${task}`,
      taskQueue,
      args: [
        {
          sop: p.sop,
          task,
          repo: { url: world.cloneUrl, ...(options.ref ? { ref: options.ref } : {}) },
          input: options.input ?? { request: 'fix it', issue: world.issue },
        },
      ],
    });
    return await fn({ handle, taskQueue });
  } finally {
    worker.shutdown();
    await running;
  }
}

/** Runs `p` to its end on the world's forge. */
export function runOnForge(
  ctx: TemporalTestContext,
  world: ForgeWorld,
  p: ExecutionPlan,
  runner: ScriptedRunner,
  options: Parameters<typeof withForgeRun>[5] = {},
): Promise<ForgeRun> {
  return withForgeRun(
    ctx,
    world,
    p,
    runner,
    async ({ handle, taskQueue }) => {
      try {
        return { handle, taskQueue, result: (await handle.result()) as RunResult };
      } catch (error) {
        return { handle, taskQueue, error: error as Error & { cause?: Error } };
      }
    },
    options,
  );
}

/** The forge's pull requests of acme/widgets. */
export function pullsOf(world: ForgeWorld) {
  return [...world.forge.repo(FULL_NAME).issues.values()].filter((i) => i.pull);
}

/** The comments on an issue. */
export function commentsOn(world: ForgeWorld, issue: number) {
  return [...world.forge.repo(FULL_NAME).comments.values()].filter((c) => c.issue === issue);
}
