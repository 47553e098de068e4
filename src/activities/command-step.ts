// The command step activity: runs the step's shell line in the workspace and records its output.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { withoutForgeCredential } from '../forge/worker-forge';
import { workerSecretValues } from '../harnesses/secret-grants';
import { fillSecrets, Redactor, secretsOf } from '../policies/secrets';
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
  const { env, redactor } = commandEnv(request);
  const beat = setInterval(() => context.heartbeat(), heartbeatEvery());
  try {
    const result = await execa(request.command, {
      shell: true,
      cwd: request.run.workspace,
      // the forge credential stays with the worker's own git and API calls
      // the forge credential stays with the worker's own git and API calls; the step's env: (secrets
      // filled in) over it, and the SOP's declared secrets it does not refer to left out
      env: { ...withoutForgeCredential(), ...env },
      extendEnv: false,
      all: true,
      reject: false,
      stdin: 'ignore',
      timeout: request.timeoutMs,
      cancelSignal: context.cancellationSignal,
      maxBuffer: 64 * 1024 * 1024,
    });
    // a secret the command printed is not recorded (log, tail, next prompt)
    const output = redactor.text(result.all ?? '');
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

/** A command step's `env:` with its secrets filled in (or a refusal naming the missing ones), and their redactor. */
function commandEnv(request: CommandStepRequest): {
  env: Record<string, string | undefined>;
  redactor: Redactor;
} {
  // a declared secret in the worker's own environment reaches a command only through its env:
  // (an undefined value is left out of the child's environment)
  const unset = Object.fromEntries((request.secrets ?? []).map((name) => [name, undefined]));
  if (!request.env) return { env: unset, redactor: new Redactor({}) };
  try {
    const values = workerSecretValues(secretsOf(request.env), `the command step ${request.step}`);
    return { env: { ...unset, ...fillSecrets(request.env, values) }, redactor: new Redactor(values) };
  } catch (err) {
    throw ApplicationFailure.create({
      type: 'SopConfigError',
      nonRetryable: true,
      message: (err as Error).message,
    });
  }
}
