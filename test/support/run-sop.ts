import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa, type Result } from 'execa';
import { packageRoot } from '../../src/temporal/package-paths';

const bin = path.join(packageRoot, 'bin', 'sop.js');

/** Runs the real `sop` binary (the built dist/) as a user would, never throwing on a non-zero exit. */
export async function runSop(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
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
  return Object.assign(result, { durationMs: Date.now() - started });
}
