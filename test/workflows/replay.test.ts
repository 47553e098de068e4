import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../../src/worker/workflow-bundle';
import { historiesDir } from '../support/histories';

// Histories recorded from real runs of earlier interpreter versions (npm run record:histories). Each must
// replay without a determinism error against the workflow code as it is now. Generations: v0-* before the
// worklist-window patch, v1-* before the run-summary patch, v2-* engine 1 with every patch (runs started
// without `engine` in their input), unprefixed: the current engine (src/workflows/engine-version.ts).
const files = fs.existsSync(historiesDir)
  ? fs.readdirSync(historiesDir).filter((f) => f.endsWith('.json'))
  : [];

test('the corpus of recorded histories is present', () => {
  expect(files.length).toBeGreaterThanOrEqual(5);
});

describe('replay of recorded histories', () => {
  let workflowBundle: Awaited<ReturnType<typeof bundleWorkflows>>;
  beforeAll(async () => {
    workflowBundle = await bundleWorkflows();
  }, 120_000);

  test.each(files)('%s replays deterministically', async (file) => {
    const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(historiesDir, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle }, history, file.replace(/\.json$/, ''));
  });
});
