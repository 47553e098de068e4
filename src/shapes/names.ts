// Name rules shared by the SOP format (src/sop/schema.ts) and the run request (run-request.ts).
// Plain constants only: workflow code imports them.

/** SOP, step, artifact and policy names. */
export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;
export const NAME_MESSAGE =
  'must start with a lowercase letter and use only a-z, 0-9, _ and - (max 63 chars)';

/**
 * Task ids: part of the workflow id `<sop>/<task>` and of the run folder path, so no slashes or dots first.
 * ":" because a Temporal Schedule appends the fire time (RFC 3339) to the workflow id of a scheduled run.
 */
export const TASK_ID_CHARS = 'A-Za-z0-9._:-';
export const TASK_ID_PATTERN = new RegExp(`^[A-Za-z0-9][${TASK_ID_CHARS}]{0,127}$`);
export const TASK_ID_MESSAGE =
  'must start with a letter or digit and use only letters, digits, ".", "_", ":" and "-" (max 128 chars)';
