// A `kind: sop` step's evidence record: which child run served the step (its workflow id, execution and
// run folder), the input the step mapped for it, how it ended and the route the step took. Written as
// `<NNNN>-sop/evidence.json` next to the agent executions, so the evidence pack's hash chain covers it in
// order, with one line in executions.jsonl.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LineWritten, RunRef } from '../shapes/contract';
import { safeName } from '../shapes/execution-folder';
import { recordExecution } from './run-summary';

export interface RecordChildRunRequest {
  run: RunRef;
  /** the run's execution counter, for the record's place in the chain */
  execution: number;
  step: string;
  item?: string;
  child: {
    sop: string;
    task: string;
    workflowId: string;
    runId: string;
    /** where the child works (the calling run's workspace, or the item's worktree) */
    workspace: string;
    status: 'completed' | 'failed';
    failure?: string;
  };
  input: Record<string, unknown>;
  route: string;
  target: string;
  /** when the child started (the workflow's clock) */
  startedAtMs: number;
  durationMs: number;
}

export interface RecordChildRunResult {
  /** run-folder-relative */
  evidence: string;
  evidenceSha256: string;
  /** its executions.jsonl line */
  lines?: LineWritten[];
}

export async function recordChildRun(request: RecordChildRunRequest): Promise<RecordChildRunResult> {
  const { child } = request;
  const item = request.item ? `${safeName(request.item)}/` : '';
  const folder = `steps/${request.step}/${item}${String(request.execution).padStart(4, '0')}-sop`;
  fs.mkdirSync(path.join(request.run.runFolder, folder), { recursive: true });
  const startedAt = new Date(request.startedAtMs).toISOString();
  const evidence = `${JSON.stringify(
    {
      kind: 'sop',
      sop: request.run.sop,
      task: request.run.taskId,
      step: request.step,
      item: request.item ?? null,
      child: {
        ...child,
        failure: child.failure ?? null,
        runFolder: path.join(child.workspace, '.sop', 'runs', child.sop, child.task),
      },
      input: request.input,
      route: request.route,
      target: request.target,
      startedAt,
      durationMs: request.durationMs,
    },
    null,
    2,
  )}\n`;
  fs.writeFileSync(path.join(request.run.runFolder, folder, 'evidence.json'), evidence);
  const line = recordExecution(request.run, {
    kind: 'sop',
    path: folder,
    step: request.step,
    item: request.item ?? null,
    startedAt,
    durationMs: request.durationMs,
    route: request.route,
    child: { sop: child.sop, workflowId: child.workflowId, runId: child.runId, status: child.status },
  });
  return {
    evidence: path.join(folder, 'evidence.json'),
    evidenceSha256: createHash('sha256').update(evidence).digest('hex'),
    lines: [line],
  };
}
