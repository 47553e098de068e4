// An answer's evidence record: what was asked, the answer, where it routed, and who sent it when (the
// update's caller identity from the run's history). Written as `<NNNN>-answer/evidence.json` next to the
// agent executions, so the evidence pack's hash chain covers it in order.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activityInfo, Context } from '@temporalio/activity';
import type { AgentQuestion } from '../shapes/agent-question';
import type { LineWritten, RunRef } from '../shapes/contract';
import { safeName } from '../shapes/execution-folder';
import { findAnswerSender } from './answer-sender';
import { recordExecution } from './run-summary';

export interface RecordAnswerRequest {
  run: RunRef;
  /** the run's execution counter, for the record's place in the chain */
  execution: number;
  step: string;
  item?: string;
  requestId: string;
  question: string;
  value: unknown;
  route?: string;
  target?: string;
  /** the update that carried the answer; absent when it came as a submitAnswer signal */
  updateId?: string;
  /** the question the agent wrote for the request (agent_asks), its reason and answer fields */
  agentQuestion?: AgentQuestion;
}

export interface RecordAnswerResult {
  by?: string;
  at?: string;
  /** run-folder-relative */
  evidence: string;
  evidenceSha256: string;
  /** its executions.jsonl line */
  lines?: LineWritten[];
}

export async function recordAnswer(request: RecordAnswerRequest): Promise<RecordAnswerResult> {
  const info = activityInfo();
  const workflowId = info.workflowExecution?.workflowId ?? `${request.run.sop}/${request.run.taskId}`;
  const sender = await findAnswerSender(
    Context.current().client.workflow.getHandle(workflowId),
    request.updateId,
  );
  const item = request.item ? `${safeName(request.item)}/` : '';
  const folder = `steps/${request.step}/${item}${String(request.execution).padStart(4, '0')}-answer`;
  const dir = path.join(request.run.runFolder, folder);
  fs.mkdirSync(dir, { recursive: true });
  const evidence = `${JSON.stringify(
    {
      sop: request.run.sop,
      task: request.run.taskId,
      step: request.step,
      item: request.item ?? null,
      kind: 'answer',
      requestId: request.requestId,
      question: request.question,
      ...(request.agentQuestion ? { agentQuestion: request.agentQuestion } : {}),
      answer: request.value,
      route: request.route ?? null,
      target: request.target ?? null,
      by: sender.by ?? null,
      at: sender.at ?? null,
      updateId: request.updateId ?? null,
    },
    null,
    2,
  )}\n`;
  fs.writeFileSync(path.join(dir, 'evidence.json'), evidence);
  const line = recordExecution(request.run, {
    kind: 'answer',
    path: folder,
    step: request.step,
    item: request.item ?? null,
    startedAt: sender.at ?? new Date().toISOString(),
    durationMs: 0,
    route: request.route ?? null,
    requestId: request.requestId,
    by: sender.by ?? null,
  });
  return {
    ...sender,
    evidence: path.join(folder, 'evidence.json'),
    evidenceSha256: createHash('sha256').update(evidence).digest('hex'),
    lines: [line],
  };
}
