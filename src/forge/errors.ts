// How a forge refuses: with its own message and what to do, never with the credential in it.

import { RateLimitError } from '../shapes/rate-limit';

const HINTS: Record<number, string> = {
  401: 'the credential was refused: check SOP_GITHUB_TOKEN, or the App id, private key and installation id',
  403: 'the credential lacks a permission this needs: give the App or token write access to pull requests, issues, commit statuses and contents',
  404: 'the repository, issue or pull request does not exist, or the credential cannot see it',
  422: 'the forge refused the request as invalid',
};

/** The forge refused an operation (or could not be reached: status 0). */
export class ForgeError extends Error {
  constructor(
    readonly forge: string,
    readonly operation: string,
    readonly status: number,
    /** the forge's own message, with its field errors */
    readonly forgeMessage: string,
  ) {
    const hint = HINTS[status];
    const answered = status === 0 ? 'could not be reached' : `answered ${status}`;
    super(`${operation}: ${forge} ${answered}: ${forgeMessage}${hint ? ` (${hint})` : ''}`);
    this.name = 'ForgeError';
  }

  /** whether trying again later can help (the forge failed or was unreachable, not a refusal) */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

/**
 * The forge is rate limiting until `resetAtMs`: the same concept as a model's rate limit (the runtime parks
 * the run until then instead of failing it), so it is a RateLimitError.
 */
export class ForgeRateLimitError extends RateLimitError {
  constructor(
    readonly forge: string,
    readonly operation: string,
    readonly status: number,
    message: string,
    resetAtMs: number,
  ) {
    super(
      `${operation}: ${forge} is rate limiting (${status}: ${message}); it resets at ${new Date(resetAtMs).toISOString()}`,
      resetAtMs,
    );
    this.name = 'ForgeRateLimitError';
  }
}

/** A credential the worker's environment lacks or has wrong: names the variable. */
export class ForgeCredentialError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ForgeCredentialError';
  }
}
