import { spawn } from 'node:child_process';

// The capacity rows read a server's CPU time from /proc. A PostgreSQL-backed server does much of its work in
// processes other than the one listening (the postmaster's backends, which come and go): the CPU of the
// whole process tree must be counted, including children that ended between the two readings.

const { treeCpuMs } = require('../../bench/capacity') as { treeCpuMs: (roots: number[]) => number };

// burns 400 ms of CPU (not of wall time: the machine may be busy), then says so
const burn = 'while (process.cpuUsage().user < 400000); console.log("burnt")';

test("a server's CPU time counts its children: one that ended between the readings and one still running", async () => {
  // the parent does nothing itself; after a line on stdin, one child burns and ends, the next burns and stays
  const parent = spawn(
    'sh',
    ['-c', `read go; node -e '${burn}'; node -e '${burn}; setInterval(() => {}, 1000)'`],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      detached: true,
    },
  );
  try {
    const pid = parent.pid as number;
    const burnt = new Promise<void>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (chunk) => {
        out += chunk;
        if (out.split('burnt').length === 3) resolve();
      });
      parent.once('exit', (code) => reject(new Error(`the test's processes exited with ${code}`)));
    });
    const before = treeCpuMs([pid]);
    parent.stdin.write('go\n');
    await burnt;
    const after = treeCpuMs([pid]);
    // 2 x 400 ms burnt (plus node's start-up), read in ticks of 10 ms
    expect(after - before).toBeGreaterThanOrEqual(780);
  } finally {
    process.kill(-(parent.pid as number), 'SIGKILL');
  }
}, 60_000);

test('a server whose processes all stopped is an error, not 0 CPU-ms', () => {
  expect(() => treeCpuMs([2 ** 22 + 1])).toThrow("none of the server's processes (4194305) runs any more");
});
