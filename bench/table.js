// The bench's result table: rows measured over rounds combined into median and spread, the rows that have
// no figure (a benchmark that failed, or NaN), and the table printed and written as JSON to bench/results/.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const round = (x, digits = 1) => Number(x.toFixed(digits));

function median(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * One benchmark's rows from each of its rounds (a list of row lists, in the same order each round) as one
 * list: value and baseline are the medians, ratio the median of the rounds' ratios, `spread` their min and
 * max, `rounds` every round's figures. The name is the last round's (a count in it is that round's).
 */
function combineRounds(rounds) {
  if (rounds.length === 1) return rounds[0];
  const count = Math.max(...rounds.map((rows) => rows.length));
  return Array.from({ length: count }, (_, i) => {
    const measured = rounds.map((rows) => rows[i]).filter(Boolean);
    const ratios = measured.map((r) => r.ratio);
    return {
      ...measured[measured.length - 1],
      value: round(median(measured.map((r) => r.value))),
      baseline: round(median(measured.map((r) => r.baseline))),
      ratio: round(median(ratios), 3),
      spread: [Math.min(...ratios), Math.max(...ratios)],
      rounds: measured.map(({ value, baseline, ratio }) => ({ value, baseline, ratio })),
    };
  });
}

/** The names of the rows whose figures are not numbers (NaN, or a zero baseline). */
function rowsWithoutFigures(rows) {
  return rows
    .filter((r) => ![r.value, r.baseline, r.ratio].every(Number.isFinite))
    .map((r) => `${r.name} (value ${r.value}, baseline ${r.baseline})`);
}

/** Prints the table, writes it as JSON to bench/results/; returns the file. */
function printTable(rows, { address, mode, rounds }) {
  const machine =
    `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.cpus()[0]?.model ?? ''}`.trim();
  const spread = rounds > 1;
  const target = (r) => (mode === 'tiny' ? 'not judged (--tiny)' : r.target);
  const lines = [
    `| benchmark | value | baseline | ratio |${spread ? ` ratio min-max (${rounds} rounds) |` : ''} target |`,
    `| --- | ---: | ---: | ---: |${spread ? ' ---: |' : ''} --- |`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.value} ${r.unit} | ${r.baseline} ${r.unit} | ${r.ratio}x |${spread ? ` ${r.spread[0]}-${r.spread[1]}x |` : ''} ${target(r)} |`,
    ),
  ];
  const of = spread ? `value, baseline and ratio: medians of ${rounds} rounds; ` : '';
  process.stdout.write(
    `${lines.join('\n')}\n\n${of}machine: ${machine}; Temporal at ${address}; node ${process.version}\n`,
  );
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), machine, mode, rounds, rows }, null, 2)}\n`,
  );
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  return file;
}

module.exports = { combineRounds, median, printTable, round, rowsWithoutFigures };
