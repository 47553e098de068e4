import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { temporalDir } from '../../src/temporal/package-paths';
import { writeWorkflowBundle } from '../../src/worker/workflow-bundle';
import { freePort } from './free-port';

// Global setup runs outside jest's module registry, where the ESM-only execa cannot load: plain
// child_process here.

/**
 * Once per `temporal` test run: a real dev server (built from temporal/ if needed) on free ports with
 * its own database — or, with SOP_TEMPORAL_MODE=cluster, the PostgreSQL-backed cluster of
 * temporal/cluster/ — and the workflow code bundled once from src/. Test workers inherit both via env.
 */
export default async function globalSetup(): Promise<void> {
  const mode = process.env.SOP_TEMPORAL_MODE || 'dev';
  if (mode !== 'dev' && mode !== 'cluster') {
    throw new Error(`SOP_TEMPORAL_MODE=${mode} is not a test mode: use dev (the default) or cluster`);
  }
  const env = mode === 'cluster' ? startCluster() : await startDevServer();
  const bundle = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-bundle-')), 'workflow-bundle.js');
  await writeWorkflowBundle(bundle);
  delete process.env.TEMPORAL_ADDRESS;
  delete process.env.TEMPORAL_PROFILE;
  Object.assign(process.env, env, { SOP_WORKFLOW_BUNDLE: bundle });
}

async function startDevServer(): Promise<Record<string, string>> {
  const port = await freePort();
  let uiPort = await freePort();
  while (uiPort === port) uiPort = await freePort();
  const env = {
    SOP_TEMPORAL_PORT: String(port),
    SOP_TEMPORAL_UI_PORT: String(uiPort),
    SOP_TEMPORAL_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sop-temporal-')),
  };
  execFileSync('bash', [path.join(temporalDir, 'start.sh')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return env;
}

/**
 * A fresh cluster of the tests' own, as the dev-server mode has a fresh database: a state dir and ports of its
 * own (SOP_TEST_CLUSTER_STATE_DIR, else `cluster-tests` beside the default state dir; SOP_TEST_CLUSTER_PORT,
 * else 27233, UI +1000, PostgreSQL +29199), whatever ran from that state dir stopped and its database removed, then
 * temporal/cluster/start.sh. Runs from earlier test runs would otherwise still be there (a task id a test
 * uses again would be a finished run). A cluster a user started on the default state dir and ports is not
 * touched. The runtime reaches it as it reaches the dev server (SOP_TEMPORAL_PORT), so every test runs
 * unchanged; tests that start dev servers of their own still do. The teardown stops it.
 */
function startCluster(): Record<string, string> {
  // never the SOP_CLUSTER_* settings of a user's own cluster: its database would be removed
  const port = Number(process.env.SOP_TEST_CLUSTER_PORT || '27233');
  const cluster = {
    SOP_CLUSTER_STATE_DIR: process.env.SOP_TEST_CLUSTER_STATE_DIR || defaultTestClusterDir(),
    SOP_CLUSTER_PORT: String(port),
    SOP_CLUSTER_UI_PORT: String(port + 1000),
    SOP_CLUSTER_PG_PORT: String(port + 29199),
  };
  const script = (name: string) => path.join(temporalDir, 'cluster', name);
  execFileSync('bash', [script('stop.sh')], { env: { ...process.env, ...cluster }, stdio: 'ignore' });
  fs.rmSync(cluster.SOP_CLUSTER_STATE_DIR, { recursive: true, force: true });
  const started = spawnSync('bash', [script('start.sh')], {
    env: { ...process.env, ...cluster },
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  process.stderr.write(started.stderr);
  if (started.status !== 0) throw new Error(`temporal/cluster/start.sh failed (exit ${started.status})`);
  return {
    ...cluster,
    SOP_TEMPORAL_PORT: cluster.SOP_CLUSTER_PORT,
    SOP_TEMPORAL_UI_PORT: cluster.SOP_CLUSTER_UI_PORT,
    SOP_TEMPORAL_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sop-temporal-')),
  };
}

/** Beside the cluster's default state dir (see temporal/cluster/env.sh): PostgreSQL's user must reach it. */
function defaultTestClusterDir(): string {
  if (process.getuid?.() === 0) return '/var/lib/sop-runtime/cluster-tests';
  const stateHome = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(stateHome, 'sop-runtime', 'cluster-tests');
}
