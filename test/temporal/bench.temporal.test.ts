import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../../src/temporal/package-paths';

// `npm run bench` at its smallest: every row of every benchmark (but the PostgreSQL cluster's, which needs
// minutes) runs once on the test dev server, so a row that breaks fails here and not in a user's long run.

const { BENCHMARKS } = require('../../bench/options') as { BENCHMARKS: string[] };

interface Row {
  bench: string;
  name: string;
  value: number;
  baseline: number;
  ratio: number;
}

test('node bench/run.js --tiny runs every row of every benchmark once, with a figure in each', async () => {
  const started = Date.now();
  const bench = await execa('node', ['bench/run.js', '--tiny', '--no-cluster'], {
    cwd: packageRoot,
    reject: false,
    timeout: 240_000,
  });
  const seconds = (Date.now() - started) / 1000;
  const file = /^results: (.+)$/m.exec(bench.stdout)?.[1];
  const results = file && path.resolve(packageRoot, file);
  const rows: Row[] = results ? JSON.parse(fs.readFileSync(results, 'utf8')).rows : [];
  if (results) fs.rmSync(results);
  // a benchmark that threw or a row without a figure fails the bench (exit 1), naming them on stderr
  if (bench.exitCode !== 0 || !file)
    throw new Error(
      `bench exit ${bench.exitCode} after ${seconds.toFixed(1)} s\n${bench.stdout}\n${bench.stderr}`,
    );
  // every benchmark gave rows, each with its figures: none failed, none was left out
  expect([...new Set(rows.map((r) => r.bench))].sort()).toEqual(
    BENCHMARKS.filter((b) => b !== 'cluster').sort(),
  );
  for (const row of rows)
    expect({ name: row.name, figures: [row.value, row.baseline, row.ratio].every(Number.isFinite) }).toEqual({
      name: row.name,
      figures: true,
    });
  // the live group times the same commands in `sop logs -f` and in the console's run page (Chromium)
  expect(rows.filter((r) => r.bench === 'live').map((r) => r.name)).toEqual([
    expect.stringMatching(/^live: command → shown by sop logs -f, p95 of 6 /),
    expect.stringMatching(/^live: command → shown in the console's run page \(Chromium\), p95 of 6 /),
    expect.stringMatching(/^live: history events/),
  ]);
  // sizes are the smallest and no target is judged on them
  expect(bench.stdout).toContain('| parallel worklist: 2 items x 0.2 s, concurrency 2 vs 1 (wall) |');
  expect(bench.stdout).toContain('not judged (--tiny)');
  expect(bench.stdout).not.toMatch(/<= 1\.15|>= 0\.8/);
}, 300_000);

test('without Chromium the live benchmark fails, saying how to get one (its console row is never skipped)', async () => {
  const bench = await execa('node', ['bench/run.js', '--tiny', '--only=live'], {
    cwd: packageRoot,
    reject: false,
    timeout: 120_000,
    env: { SOP_CHROMIUM: '/nowhere/chromium' },
  });
  const file = /^results: (.+)$/m.exec(bench.stdout)?.[1];
  if (file) fs.rmSync(path.resolve(packageRoot, file));
  expect(bench.exitCode).toBe(1);
  expect(bench.stderr).toContain(
    'the console row needs Chromium: none at /nowhere/chromium (SOP_CHROMIUM). Run scripts/setup.sh',
  );
  expect(bench.stderr).toContain('benchmark live failed');
  expect(bench.stdout).not.toContain('| live:');
}, 150_000);
