import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../../src/temporal/package-paths';

// The options of `npm run bench` (node bench/run.js), run as a user runs them; `--only=provision` needs no
// Temporal server and takes a second at the --tiny size.

const bench = (...args: string[]) =>
  execa('node', ['bench/run.js', ...args], { cwd: packageRoot, reject: false });

interface Row {
  name: string;
  value: number;
  baseline: number;
  ratio: number;
  spread: [number, number];
  rounds: { value: number; baseline: number; ratio: number }[];
}

function resultRows(stdout: string): Row[] {
  const file = path.resolve(packageRoot, /^results: (.+)$/m.exec(stdout)?.[1] ?? 'no results line');
  const rows = JSON.parse(fs.readFileSync(file, 'utf8')).rows;
  fs.rmSync(file);
  return rows;
}

test('--only=provision runs the provisioning rows (it died at once: execFileSync is not defined)', async () => {
  const run = await bench('--tiny', '--only=provision');
  expect(run.stderr).toBe('');
  expect(run.exitCode).toBe(0);
  expect(resultRows(run.stdout).map((r) => r.name)).toEqual([
    'provision: repo.url workspace, 20 files, new worker vs git clone',
    'provision: repo.url workspace, 20 files, mirror fetched before (spare checkout ready) vs git clone',
    'provision: repo.url workspace, 20 files, mirror fetched before, no spare (SOP_SPARE_WORKTREES=0) vs git clone',
  ]);
});

test('--rounds 3 measures each row three times: the median, and the spread of the ratios', async () => {
  const run = await bench('--tiny', '--only=provision', '--rounds', '3');
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toContain(
    '| benchmark | value | baseline | ratio | ratio min-max (3 rounds) | target |',
  );
  expect(run.stdout).toContain('value, baseline and ratio: medians of 3 rounds');
  const rows = resultRows(run.stdout);
  expect(rows).toHaveLength(3);
  for (const row of rows) {
    expect(row.rounds).toHaveLength(3);
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const ratios = sorted(row.rounds.map((r) => r.ratio));
    expect(row.ratio).toBe(ratios[1]);
    expect(row.value).toBe(sorted(row.rounds.map((r) => r.value))[1]);
    expect(row.spread).toEqual([ratios[0], ratios[2]]);
    const line = run.stdout.split('\n').find((l) => l.startsWith(`| ${row.name} |`));
    expect(line).toContain(`| ${row.ratio}x | ${ratios[0]}-${ratios[2]}x |`);
  }
});

test.each([
  [['--rounds', '0'], '--rounds must be a whole number from 1, not "0"'],
  [['--rounds=two'], '--rounds must be a whole number from 1, not "two"'],
  [['--rounds'], '--rounds needs a value'],
  [['--only=provision,bogus'], '--only: no benchmark named bogus (names: overhead, throughput,'],
  [['--quick', '--tiny'], '--quick and --tiny: choose one'],
  [['--fast'], 'unknown option --fast'],
])('node bench/run.js %j is refused, naming the option', async (args, message) => {
  const run = await bench(...args);
  expect(run.exitCode).toBe(2);
  expect(run.stderr).toContain(`bench: ${message}`);
  expect(run.stderr).toContain('usage: node bench/run.js');
  expect(run.stdout).toBe('');
});
