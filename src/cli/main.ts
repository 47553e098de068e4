import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { envValue } from '../config/env';
import { packageRoot } from '../temporal/package-paths';
import { registerCommands } from './commands';
import { CliError, ExitCode } from './errors';
import { addExamples } from './examples';

function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string })
    .version;
}

export function buildProgram(): Command {
  const program = new Command('sop')
    .description(
      'Run Standard Operating Procedures for coding agents as governed, durable Temporal workflows',
    )
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program);
  addExamples(program);
  return program;
}

/** Parses argv, runs the command, and turns every failure into a one-line message and an exit code. */
export async function main(argv: string[]): Promise<number> {
  endQuietlyOnClosedPipe();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    return reportError(err);
  }
}

/**
 * `sop … | head`: once the reader has gone, a write fails with EPIPE (an 'error' event nobody handles
 * would print a stack trace). There is nobody left to tell anything: end at once, as a Unix tool does on
 * SIGPIPE, but with exit code 0 (the reader chose to stop; nothing failed).
 */
function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(ExitCode.ok);
      throw err;
    });
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed its message; help/version requests are not failures
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    ) {
      return ExitCode.ok;
    }
    return ExitCode.usage;
  }
  if (err instanceof CliError) {
    process.stderr.write(`error: ${err.message}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message}\n`);
  if (envValue('SOP_DEBUG')) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  return ExitCode.failure;
}
