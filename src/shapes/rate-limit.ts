// The one error every caller of a rate-limited provider throws, so the activities treat them alike.

/**
 * Thrown when a provider refuses until a known time (HTTP 429 with a reset): by a harness runner for the
 * model's API, by the forge for the code host's. The activity parks the run until then.
 */
export class RateLimitError extends Error {
  constructor(
    message: string,
    readonly resetAtMs: number,
  ) {
    super(message);
    this.name = 'RateLimitError';
  }
}
