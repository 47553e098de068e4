import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa, type Result } from 'execa';
import { packageRoot } from '../../src/temporal/package-paths';
import { expectAgreement } from './agreement';

const bin = path.join(packageRoot, 'bin', 'sop.js');

export interface RunSopOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /**
   * After an attached `sop run|resume|rerun` that ended the run: check that every record of the run agrees
   * (test/support/agreement.ts) and throw naming each disagreement. Default true.
   */
  agreement?: boolean;
}

/** Runs the real `sop` binary (the built dist/) as a user would, never throwing on a non-zero exit. */
export async function runSop(
  args: string[],
  options: RunSopOptions = {},
): Promise<Result & { durationMs: number }> {
  if (!fs.existsSync(path.join(packageRoot, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before the CLI tests (npm test does)');
  }
  const started = Date.now();
  const result = await execa('node', [bin, ...args], {
    env: { ...process.env, ...options.env },
    extendEnv: false,
    cwd: options.cwd ?? packageRoot,
    reject: false,
    stdin: 'ignore',
    timeout: options.timeoutMs ?? 60_000,
  });
  const done = Object.assign(result, { durationMs: Date.now() - started });
  const ended = options.agreement === false ? undefined : endedRun(args, done);
  if (ended) {
    await expectAgreement(ended);
  }
  return done;
}

/** The run an attached `sop run|resume|rerun` followed to its end (undefined when it did not). */
function endedRun(
  args: string[],
  result: Result,
): { sop: string; task: string; cli: { stdout: string; stderr: string } } | undefined {
  if (!['run', 'resume', 'rerun'].includes(args[0]) || args.includes('--detach') || result.timedOut)
    return undefined;
  const cli = { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
  const all = `${cli.stdout}\n${cli.stderr}`;
  const id =
    /"workflowId":\s*"([^"]+)"/.exec(all)?.[1] ??
    /^(?:error: )?(\S+\/\S+) (?:completed|failed|cancelled)\b/m.exec(all)?.[1];
  if (
    !id ||
    !/"status":\s*"(completed|failed|cancelled)"|^(?:error: )?\S+ (completed|failed|cancelled)\b/m.test(all)
  )
    return undefined;
  const slash = id.indexOf('/');
  return { sop: id.slice(0, slash), task: id.slice(slash + 1), cli };
}
