import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporalDir } from '../../src/temporal/package-paths';

export default async function globalTeardown(): Promise<void> {
  if (process.env.SOP_TEMPORAL_MODE === 'cluster') {
    // the tests' own cluster (see the global setup): its data is kept until the next test run
    execFileSync('bash', [path.join(temporalDir, 'cluster', 'stop.sh')], {
      env: process.env,
      stdio: 'ignore',
    });
  } else {
    execFileSync('bash', [path.join(temporalDir, 'stop.sh')], { env: process.env, stdio: 'ignore' });
  }
  const state = process.env.SOP_TEMPORAL_STATE_DIR;
  if (state?.includes('sop-temporal-')) fs.rmSync(state, { recursive: true, force: true });
  const bundle = process.env.SOP_WORKFLOW_BUNDLE;
  if (bundle) fs.rmSync(path.dirname(bundle), { recursive: true, force: true });
}
