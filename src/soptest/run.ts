// Runs SOP tests: each on a fresh copy of its starting repository, with its own scripted model server and
// its own worker (task queue) whose real harness binaries talk to that server, a few at a time.

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeConnection } from '@temporalio/worker';
import { SopClient } from '../client';
import { createHarnessRunners } from '../harnesses';
import { startModelServer } from '../scripted-model/model-server';
import type { Provider } from '../shapes/execution-plan';
import type { SopBundle } from '../sop/compile';
import { planRun } from '../sop/resolve';
import { SopKind } from '../temporal/search-attributes';
import { createSopWorker } from '../worker/create-worker';
import { compare, type Mismatch, type TestActual } from './expect';
import type { SopTest } from './spec';
import { changedFiles, prepareWorkspace, snapshot } from './workspace';

export interface TestResult {
  test: SopTest;
  ok: boolean;
  mismatches: Mismatch[];
  /** the test could not run (bad input, repository, timeout) */
  error?: string;
  actual?: TestActual;
  /** scripted-model problems seen during the run (no rule matched, a run ran out of replies) */
  modelErrors: string[];
  durationMs: number;
  /** kept for a failed test (and with --keep) */
  workspace?: string;
}

export interface RunTestsOptions {
  client: SopClient;
  connection: NativeConnection;
  bundles: Map<string, SopBundle>;
  /** where workspaces go */
  workRoot: string;
  jobs: number;
  /** keep every workspace, not only those of failed tests */
  keep: boolean;
  timeoutMs: number;
  /** overrides the tests' provider */
  provider?: Provider;
  /** the project whose catalog resolves the SOPs a `kind: sop` step calls (default: the working directory) */
  projectDir?: string;
  onResult?: (result: TestResult) => void;
}

/** Runs the tests, at most `jobs` at once; results in the order of `tests`. */
export async function runTests(tests: SopTest[], options: RunTestsOptions): Promise<TestResult[]> {
  const results: TestResult[] = new Array(tests.length);
  // test runs are marked SopKind=test (hidden by `sop runs list`) where the server knows the attribute: a
  // run upserting one the server does not know would fail every workflow task
  const marked = await options.client.hasSearchAttribute(SopKind.name);
  let next = 0;
  const lane = async () => {
    while (next < tests.length) {
      const i = next++;
      results[i] = await runOne(tests[i], options, marked);
      options.onResult?.(results[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, tests.length)) }, lane));
  return results;
}

async function runOne(test: SopTest, options: RunTestsOptions, marked: boolean): Promise<TestResult> {
  const started = Date.now();
  const bundle = options.bundles.get(test.sop);
  const fail = (error: string, workspace?: string): TestResult => ({
    test,
    ok: false,
    mismatches: [],
    error,
    modelErrors: [],
    durationMs: Date.now() - started,
    workspace,
  });
  if (!bundle) return fail(`${test.sop} does not compile (sop validate says why)`);
  const request = {
    input: test.spec.input,
    params: test.spec.params,
    provider: options.provider ?? test.spec.provider,
  };
  // the worker's resolver makes the run's plan; the same check here fails a bad test before it runs
  const early = planRun(bundle, request, 'this project');
  if ('refused' in early) return fail(early.refused.line);
  const { plan } = early.ok;

  let workspace: string;
  try {
    workspace = await prepareWorkspace(test.spec.repo, test.file, options.workRoot);
  } catch (err) {
    return fail((err as Error).message);
  }
  const before = snapshot(workspace);
  const model = await startModelServer(test.scenario);
  const taskQueue = `sop-test-${randomUUID().slice(0, 8)}`;
  const client = new SopClient(options.client.client, { ...options.client.target, taskQueue });
  const taskId = `test-${test.name}-${Date.now().toString(36)}`;
  const runners = createHarnessRunners({
    ...process.env,
    SOP_CODEX_BASE_URL: `${model.url}/v1`,
    SOP_CLAUDE_BASE_URL: model.url,
  });
  let actual: TestActual | undefined;
  let error: string | undefined;
  try {
    const worker = await createSopWorker({
      connection: options.connection,
      target: client.target,
      taskQueue,
      activities: { runners, ...(options.projectDir ? { projectDir: options.projectDir } : {}) },
    });
    await worker.runUntil(async () => {
      const handle = await client.start(bundle, {
        ...request,
        task: taskId,
        repo: { path: workspace },
        ...(marked ? { kind: 'test' as const } : {}),
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
      });
      const ended = await Promise.race([
        handle.result().then(
          () => 'ended' as const,
          () => 'ended' as const,
        ),
        timedOut,
      ]);
      clearTimeout(timer);
      if (ended === 'timeout') {
        await handle.terminate('sop test: the test timed out').catch(() => undefined);
        error = `the run did not end within ${Math.round(options.timeoutMs / 1000)} s (terminated)`;
        return;
      }
      const status = await client.status(plan.sop, taskId);
      actual = {
        status: status.status,
        failure: status.failure,
        routes: status.routesTaken.map((r) => [r.step, r.item, r.route].filter(Boolean).join(':')),
        agentRuns: status.usage.agentRuns,
        tokens: status.usage.inputTokens + status.usage.outputTokens,
        costUsd: status.usage.costUsd,
        filesChanged: changedFiles(before, snapshot(workspace)),
        workspace,
        runFolder: path.join('.sop', 'runs', plan.sop, taskId),
      };
    });
  } catch (err) {
    error = (err as Error).message;
  } finally {
    await model.close();
  }
  const modelErrors = [...new Set(model.requests.flatMap((r) => (r.error ? [r.error] : [])))];
  const mismatches = actual ? compare(test.spec.expect, actual, plan.artifacts) : [];
  const ok = !error && mismatches.length === 0;
  if (ok && !options.keep) fs.rmSync(workspace, { recursive: true, force: true });
  return {
    test,
    ok,
    mismatches,
    error,
    actual,
    modelErrors,
    durationMs: Date.now() - started,
    workspace: ok && !options.keep ? undefined : workspace,
  };
}
