import type { ResultPromise } from 'execa';

const running = new Set<ResultPromise>();

// A test that times out never reaches its own clean-up (its `finally` waits on a promise that never settles),
// and a process it started would keep jest from exiting: whatever is still running when the test file ends is
// killed here. Registered once per test file (jest loads this module once per file).
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

/** Kills `child` when the test file ends, if it still runs then. */
export function killAfterAll(child: ResultPromise): ResultPromise {
  running.add(child);
  void child.finally(() => running.delete(child));
  return child;
}
