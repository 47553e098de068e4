// The options of `node bench/run.js` (`npm run bench -- ...`): which benchmarks, at which size, how many
// rounds.

/** Every benchmark by name, in the order the table shows them. */
const BENCHMARKS = [
  'overhead',
  'throughput',
  'history',
  'parallel',
  'capacity',
  'startup',
  'fleet',
  'cluster',
  'launch',
  'live',
  'provision',
  'audit',
];

const USAGE = `usage: node bench/run.js [--quick | --tiny] [--only=NAME,...] [--no-cluster] [--rounds N]

  --quick        smaller sizes (the parallel worklist is left out unless --only names it)
  --tiny         every row once at the smallest sizes, targets not judged: checks that each row runs
  --only=NAMES   some of the benchmarks: ${BENCHMARKS.join(', ')}
  --no-cluster   leave out the PostgreSQL cluster's rows
  --rounds N     measure each row N times: the table shows the median and the spread (min-max)
`;

class UsageError extends Error {}

/** The options of `argv` (without node and the script); a bad one throws a UsageError naming it. */
function parseOptions(argv) {
  const options = { quick: false, tiny: false, only: undefined, cluster: true, rounds: 1, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === '--help' || flag === '-h') options.help = true;
    else if (flag === '--quick') options.quick = true;
    else if (flag === '--tiny') options.tiny = true;
    else if (flag === '--no-cluster') options.cluster = false;
    else if (flag === '--only') options.only = onlyNames(value());
    else if (flag === '--rounds') options.rounds = roundCount(value());
    else throw new UsageError(`unknown option ${arg}`);
  }
  if (options.quick && options.tiny) throw new UsageError('--quick and --tiny: choose one');
  return options;
}

function onlyNames(text) {
  const names = text.split(',').filter(Boolean);
  const unknown = names.filter((n) => !BENCHMARKS.includes(n));
  if (names.length === 0 || unknown.length > 0)
    throw new UsageError(
      `--only: ${unknown.length ? `no benchmark named ${unknown.join(', ')}` : 'name at least one benchmark'} (names: ${BENCHMARKS.join(', ')})`,
    );
  return names;
}

function roundCount(text) {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1)
    throw new UsageError(`--rounds must be a whole number from 1, not "${text}"`);
  return n;
}

module.exports = { BENCHMARKS, USAGE, UsageError, parseOptions };
