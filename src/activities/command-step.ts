// The command step activity: runs the step's shell line in the workspace and records its output.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { execa } from 'execa';
import { withoutForgeCredential } from '../forge/worker-forge';
import type { CommandStepRequest, CommandStepResult } from '../shapes/contract';
import { ensureParentDir } from './artifacts';
import { recordExecution } from './run-summary';
import { forgetSnapshot } from './snapshot-reuse';
import { heartbeatEvery, workspaceOnThisWorker } from './step-support';

const TAIL_LINES = 40;
const TAIL_BYTES = 4_096;

export async function runCommandStep(request: CommandStepRequest): Promise<CommandStepResult> {
  const started = Date.now();
  const outputFile = path.join(
    request.run.runFolder,
    'steps',
    `${request.step}`,
    `${request.execution}-command.log`,
  );
  workspaceOnThisWorker(request.run.workspace);
  // the command writes the workspace: the next agent execution takes a fresh before-snapshot
  forgetSnapshot(request.run.workspace);
  ensureParentDir(outputFile);
  const context = Context.current();
  const beat = setInterval(() => context.heartbeat(), heartbeatEvery());
  try {
    const result = await execa(request.command, {
      shell: true,
      cwd: request.run.workspace,
      // the forge credential stays with the worker's own git and API calls
      env: withoutForgeCredential(),
      extendEnv: false,
      all: true,
      reject: false,
      stdin: 'ignore',
      timeout: request.timeoutMs,
      cancelSignal: context.cancellationSignal,
      maxBuffer: 64 * 1024 * 1024,
    });
    const output = result.all ?? '';
    fs.writeFileSync(outputFile, output);
    const exitCode = result.exitCode ?? (result.timedOut ? 124 : 1);
    const line = recordExecution(request.run, {
      kind: 'command',
      path: path.relative(request.run.runFolder, outputFile),
      step: request.step,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      exitCode,
    });
    return {
      exitCode,
      timedOut: Boolean(result.timedOut),
      outputFile: path.relative(request.run.runFolder, outputFile),
      outputSha256: createHash('sha256').update(output).digest('hex'),
      lines: [line],
      tail: tail(output),
      durationMs: Date.now() - started,
    };
  } finally {
    clearInterval(beat);
  }
}

function tail(output: string): string {
  const lines = output.split('\n').slice(-TAIL_LINES).join('\n');
  return lines.length > TAIL_BYTES ? lines.slice(-TAIL_BYTES) : lines;
}
