/** Exit codes of the `sop` command, documented in docs/cli.md. */
export const ExitCode = { ok: 0, failure: 1, usage: 2, notFound: 3, interrupted: 130 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error meant for the person at the terminal: printed as one line (plus optional hint), never with a
 * stack trace, and mapped to a documented exit code.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failure,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
