import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ExecutionRecord, recordExecutionOnce } from '../../src/activities/run-summary';

// A launch lost with its worker is recorded by a later launch of the step. The launch it was handed to may have
// written the record and died before its first heartbeat, so the workflow hands it on again: it is recorded once.

test('a lost launch handed to two launches is one line of executions.jsonl, with the same hash for history', () => {
  const runFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-lost-'));
  const run = { sop: 'chaos', taskId: 't', workspace: runFolder, runFolder };
  const lost: ExecutionRecord = {
    kind: 'agent',
    path: 'steps/s2/0002-agent-a1-l1',
    step: 's2',
    role: 'agent',
    attempt: 1,
    launch: 1,
    accepted: false,
    reason: 'worker lost (heartbeat timeout): launched again',
    workerLost: true,
    route: null,
    usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
  };
  const file = path.join(runFolder, 'executions.jsonl');
  // a line cut short by a worker that died while it wrote is no reason to fail
  fs.writeFileSync(file, '{"kind":"agent","path":"steps/s1/0001-agen');
  fs.appendFileSync(file, '\n');
  const first = recordExecutionOnce(run, lost);
  const second = recordExecutionOnce(run, lost);
  expect(second).toEqual(first);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  expect(lines.filter((l) => l.includes('"steps/s2/0002-agent-a1-l1"'))).toHaveLength(1);
  const other = recordExecutionOnce(run, { ...lost, path: 'steps/s2/0003-agent-a1-l2', launch: 2 });
  expect(other.sha256).not.toBe(first.sha256);
  expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
});
