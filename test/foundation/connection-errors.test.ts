import { freePort } from '../support/free-port';
import { runSop } from '../support/run-sop';

test('TEMPORAL_ADDRESS at a port where nothing listens: a one-line error naming the address, within seconds', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const result = await runSop(['temporal', 'status'], { env: { TEMPORAL_ADDRESS: address } });
  expect(result.exitCode).toBe(1);
  const stderr = String(result.stderr).trim();
  expect(stderr.split('\n')).toHaveLength(1);
  expect(stderr).toContain(`cannot reach Temporal at ${address} (from TEMPORAL_ADDRESS)`);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(result.durationMs).toBeLessThan(10_000);
});

test('an unknown command is a usage error (exit 2)', async () => {
  const result = await runSop(['no-such-verb']);
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toMatch(/unknown command|too many arguments/);
});

test.each([['temporal'], ['server']])(
  'managing the embedded server (`sop %s start`) while TEMPORAL_ADDRESS points elsewhere is refused',
  async (verb) => {
    // `sop server`, the old name, still works: scripts written before the rename keep running
    const result = await runSop([verb, 'start'], { env: { TEMPORAL_ADDRESS: '10.255.255.1:7233' } });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('`sop temporal start` manages the embedded dev server, but');
    expect(result.stderr).toContain('points at 10.255.255.1:7233');
  },
);
