import * as smoke from './smoke';

/** Every activity the worker registers. Plain async functions; the workflow proxies them by name. */
export function createActivities() {
  return { ...smoke };
}
export type Activities = ReturnType<typeof createActivities>;
