import { execFileSync } from 'node:child_process';
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
 * its own database, and the workflow code bundled once from src/. Test workers inherit both via env.
 */
export default async function globalSetup(): Promise<void> {
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
  const bundle = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sop-bundle-')), 'workflow-bundle.js');
  await writeWorkflowBundle(bundle);
  delete process.env.TEMPORAL_ADDRESS;
  delete process.env.TEMPORAL_PROFILE;
  Object.assign(process.env, env, { SOP_WORKFLOW_BUNDLE: bundle });
}
