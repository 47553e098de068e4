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
 * The cluster on its own ports (SOP_CLUSTER_* settings, see temporal/cluster/start.sh). The runtime reaches
 * it as it reaches the dev server (SOP_TEMPORAL_PORT), so every test runs unchanged; tests that start
 * dev servers of their own still do. The teardown stops the cluster only when this setup started it.
 */
function startCluster(): Record<string, string> {
  const started = spawnSync('bash', [path.join(temporalDir, 'cluster', 'start.sh')], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  process.stderr.write(started.stderr);
  if (started.status !== 0) throw new Error(`temporal/cluster/start.sh failed (exit ${started.status})`);
  return {
    SOP_TEMPORAL_PORT: process.env.SOP_CLUSTER_PORT || '17233',
    SOP_TEMPORAL_UI_PORT: process.env.SOP_CLUSTER_UI_PORT || '18233',
    SOP_TEMPORAL_STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sop-temporal-')),
    SOP_CLUSTER_STARTED_BY_TESTS: /Temporal server started/.test(started.stderr) ? '1' : '',
  };
}
