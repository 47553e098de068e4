import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { execa } from 'execa';
import { temporalDir } from '../../src/temporal/package-paths';
import { testTarget } from './temporal';

export const historiesDir = path.join(__dirname, '..', 'histories');

/**
 * With SOP_RECORD_HISTORIES=1 (`npm run record:histories`), saves the run's event history to
 * test/histories/<name>.json (exported by the Temporal CLI as proto JSON). The replay test runs every saved
 * history through the current workflow code, so a change that would break running executions fails CI.
 */
export async function recordHistory(handle: WorkflowHandle, name: string, runId?: string): Promise<void> {
  if (!process.env.SOP_RECORD_HISTORIES) return;
  const { stdout } = await execa(
    path.join(temporalDir, 'bin', 'temporal'),
    [
      'workflow',
      'show',
      '--workflow-id',
      handle.workflowId,
      ...(runId ? ['--run-id', runId] : []),
      '--address',
      testTarget().address,
      '--output',
      'json',
    ],
    { stdin: 'ignore' },
  );
  fs.mkdirSync(historiesDir, { recursive: true });
  fs.writeFileSync(path.join(historiesDir, `${name}.json`), `${stdout.trim()}\n`);
}
