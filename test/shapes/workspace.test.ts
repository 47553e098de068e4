import { execFileSync } from 'node:child_process';
import { runBranch } from '../../src/shapes/workspace';

// A scheduled run's task id carries its fire time (`nightly-2026-12-01T14:35:05Z`): its run branch must
// still be a name git accepts, or a repo.url run started by a Schedule could never be provisioned.
test('run branches are names git accepts, also for task ids with the fire time of a scheduled run', () => {
  for (const [sop, task] of [
    ['sweep', 'nightly-2026-12-01T14:35:05Z'],
    ['ralph_loop', 'r1'],
    ['triage', 'issues-..lock'],
  ]) {
    const branch = runBranch(sop, task);
    expect(() => execFileSync('git', ['check-ref-format', '--branch', branch])).not.toThrow();
  }
  expect(runBranch('ralph_loop', 'r1')).toBe('sop/ralph_loop/r1');
  expect(runBranch('sweep', 'nightly-2026-12-01T14:35:05Z')).toBe('sop/sweep/nightly-2026-12-01T14-35-05Z');
});
