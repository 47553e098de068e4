import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../../src/worker/workflow-bundle';
import { historiesDir } from '../support/histories';

// Histories recorded from real runs of earlier interpreter versions (npm run record:histories). Each must
// replay without a determinism error against the workflow code as it is now. Generations: v0-* before the
// worklist-window patch, v1-* before the run-summary patch, v2-* engine 1 with every patch (runs started
// without `engine` in their input), e2-*: engine 2 (its changes gated by markers), unprefixed: the current
// engine (src/shapes/engine-version.ts);
// request-*: runs started by a run request (resolved by the resolve activity).
const files = fs.existsSync(historiesDir)
  ? fs.readdirSync(historiesDir).filter((f) => f.endsWith('.json'))
  : [];

test('the corpus of recorded histories is present', () => {
  expect(files.length).toBeGreaterThanOrEqual(5);
});

/** A run started by request takes its task from the workflow id `<sop>/<task>`: replay it under that id. */
function workflowIdOf(json: {
  events: Array<{
    workflowExecutionStartedEventAttributes?: { input?: { payloads?: Array<{ data: string }> } };
  }>;
}): string | undefined {
  const payload = json.events[0].workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const request = payload ? JSON.parse(Buffer.from(payload.data, 'base64').toString()) : undefined;
  return request && !('plan' in request) && request.sop && request.task
    ? `${request.sop}/${request.task}`
    : undefined;
}

describe('replay of recorded histories', () => {
  // one replay worker for the whole corpus, on the workflow code the global setup bundled from src/
  const results = new Map<string, Error | undefined>();
  beforeAll(async () => {
    const codePath = process.env.SOP_WORKFLOW_BUNDLE;
    const workflowBundle = codePath ? { codePath } : await bundleWorkflows();
    const histories = files.map((file) => {
      const json = JSON.parse(fs.readFileSync(path.join(historiesDir, file), 'utf8'));
      return {
        file,
        workflowId: workflowIdOf(json) ?? file.replace(/\.json$/, ''),
        history: historyFromJSON(json),
      };
    });
    const fileOf = new Map(histories.map((h) => [h.workflowId, h.file]));
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      results.set(fileOf.get(result.workflowId)!, result.error);
    }
  }, 120_000);

  test.each(files)('%s replays deterministically', (file) => {
    expect(results.has(file)).toBe(true);
    const error = results.get(file);
    if (error) throw error;
  });
});
