import * as fs from 'node:fs';
import * as path from 'node:path';
import { createActivities } from '../../src/activities';
import { type EnvName, EnvSchema, envDoc, envValue } from '../../src/config/env';
import { resolveTemporalTarget } from '../../src/temporal/target';

// src/config/env.ts is the one list of the environment the code reads: this test reads the code and fails
// when it reads a variable the schema does not list, or the schema lists one nothing reads.

const root = path.join(__dirname, '..', '..');

function files(dir: string, pattern: RegExp): string[] {
  const full = path.join(root, dir);
  if (!fs.existsSync(full)) return [];
  return fs
    .readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && pattern.test(e.name))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

const CODE = [
  ...files('src', /\.ts$/).filter((f) => f !== 'src/config/env.ts'),
  ...files('bin', /\.js$/),
  ...files('scripts', /\.js$/),
  'jest.config.js',
];
/** Tests and benchmarks also pass variables of their own to the processes they start (LEDGER, STEP_MS): only
 * the project's own names (SOP_*, TEMPORAL_*) are settings there. */
const TEST_CODE = [...files('test', /\.(ts|js)$/), ...files('bench', /\.js$/)];
const SHELL = [...files('scripts', /\.sh$/), ...files('temporal', /\.sh$/), '.ci/run'];
/** Bash's own variables, not the environment's settings. */
const SHELL_BUILTINS = new Set(['BASH_SOURCE']);

/**
 * Reads whose variable is not written in the code line itself. Each lists the names it can read (which must
 * be in the schema) or says why they are the user's own.
 */
const DYNAMIC_READS: Record<string, { names: string[] } | { user: string }> = {
  // PASS_THROUGH and the harness's key variable
  'src/harnesses/common.ts': { names: passThrough().concat(['OPENAI_API_KEY', 'ANTHROPIC_API_KEY']) },
  'src/harnesses/codex.ts': { names: ['OPENAI_API_KEY'] },
  // the harness process's own environment, built from the above
  'src/harnesses/claude-launch.ts': { names: ['ANTHROPIC_API_KEY'] },
  'src/harnesses/approval/mcp-server.ts': { names: ['SOP_APPROVAL_SOCKET'] },
  'src/cli/record.ts': { names: ['SOP_CODEX_BASE_URL', 'SOP_CLAUDE_BASE_URL'] },
  'src/cli/commands/doctor.ts': {
    names: ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'SOP_CODEX_BASE_URL', 'SOP_CLAUDE_BASE_URL'],
  },
  // a webhook's secret_env, or SOP_GITHUB_WEBHOOK_SECRET for the shared hook no trigger declares (hooks.ts)
  'src/serve/ingress.ts': { names: ['SOP_GITHUB_WEBHOOK_SECRET'] },
  'src/cli/commands/serve.ts': { user: "a webhook's secret_env" },
  'src/activities/poll.ts': { user: "{{ env.NAME }} in a sensor's http headers" },
  'src/config/secrets.ts': { user: "an SOP's secrets: names" },
};

/** The names src/harnesses/common.ts passes to every harness process unchanged. */
function passThrough(): string[] {
  const text = fs.readFileSync(path.join(root, 'src/harnesses/common.ts'), 'utf8');
  const list = /const PASS_THROUGH = \[([\s\S]*?)\];/.exec(text)?.[1] ?? '';
  return [...list.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]);
}

interface Read {
  name: string;
  file: string;
}

function codeReads(file: string, ownNamesOnly: boolean): { reads: Read[]; dynamic: boolean } {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const reads: Read[] = [];
  const patterns = [
    /process\.env\.([A-Z_][A-Z0-9_]*)/g,
    /process\.env\[\s*['"`]([A-Z_][A-Z0-9_]*)['"`]\s*\]/g,
  ];
  // a function that takes the environment as a parameter (`env: NodeJS.ProcessEnv = process.env`) reads it
  // as env.NAME; elsewhere `env` is an environment being built for a child process
  if (text.includes('NodeJS.ProcessEnv')) patterns.push(/(?<![.\w]|\{\{\s*)env\.([A-Z_][A-Z0-9_]*)\b/g);
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) reads.push({ name: m[1], file });
  // envValue('NAME') / envValue(cond ? 'A' : 'B'): every name in the call
  for (const m of text.matchAll(/envValue\(([^)]*)\)/g))
    for (const n of m[1].matchAll(/'([A-Z_][A-Z0-9_]*)'/g)) reads.push({ name: n[1], file });
  const dynamic = /process\.env\[(?!\s*['"`])|\benv\[(?!\s*['"`])/.test(text);
  return {
    reads: ownNamesOnly ? reads.filter((r) => /^(SOP|TEMPORAL)_/.test(r.name)) : reads,
    dynamic,
  };
}

function shellReads(file: string): Read[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  return [...text.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)/g)]
    .map((m) => ({ name: m[1], file }))
    .filter((r) => !SHELL_BUILTINS.has(r.name));
}

function allReads(): { reads: Read[]; dynamicFiles: string[] } {
  const reads: Read[] = [];
  const dynamicFiles: string[] = [];
  for (const file of CODE) {
    const found = codeReads(file, false);
    reads.push(...found.reads);
    if (found.dynamic) dynamicFiles.push(file);
  }
  for (const file of TEST_CODE) reads.push(...codeReads(file, true).reads);
  for (const file of SHELL) reads.push(...shellReads(file));
  for (const [file, known] of Object.entries(DYNAMIC_READS))
    if ('names' in known) reads.push(...known.names.map((name) => ({ name, file })));
  return { reads, dynamicFiles };
}

const names = Object.keys(EnvSchema.shape) as EnvName[];

test('every environment variable the code, the scripts and the tests read is in the schema', () => {
  const { reads } = allReads();
  expect(reads.length).toBeGreaterThan(80);
  const unknown = reads.filter((r) => !(r.name in EnvSchema.shape)).map((r) => `${r.name} (${r.file})`);
  expect([...new Set(unknown)]).toEqual([]);
});

test('every variable the schema lists is read somewhere (or by the library it names)', () => {
  const read = new Set(allReads().reads.map((r) => r.name));
  const src = files('src', /\.ts$/).map((f) => fs.readFileSync(path.join(root, f), 'utf8'));
  const unread = names.filter((name) => {
    const { readBy } = envDoc(name);
    if (!readBy) return !read.has(name);
    // a library's reads: the code must use that library
    if (readBy.includes('@temporalio/envconfig'))
      return !src.some((t) => t.includes("'@temporalio/envconfig'"));
    if (readBy.includes('hasColors')) return !src.some((t) => t.includes('hasColors'));
    return true;
  });
  expect(unread).toEqual([]);
});

test('a read whose variable name is not in the code line is one the test knows', () => {
  const { dynamicFiles } = allReads();
  expect(dynamicFiles.filter((f) => !(f in DYNAMIC_READS))).toEqual([]);
  expect(passThrough()).toContain('PATH');
  // the names those reads can take are written in the code (as the value of a constant, an option, ...)
  const src = CODE.filter((f) => f.startsWith('src/')).map((f) =>
    fs.readFileSync(path.join(root, f), 'utf8'),
  );
  const named = Object.values(DYNAMIC_READS).flatMap((known) => ('names' in known ? known.names : []));
  expect(named.filter((name) => !src.some((text) => text.includes(`'${name}'`)))).toEqual([]);
});

test('the scanner finds a read the schema does not list', () => {
  const file = path.join(root, 'src', 'config', 'scan-probe.tmp.ts');
  // (written in two parts, so that this file itself reads no such variable)
  fs.writeFileSync(file, `export const x = process.env.${'SOP_NOT_IN_THE'}_SCHEMA;\n`);
  try {
    const found = codeReads(path.relative(root, file), false).reads.map((r) => r.name);
    expect(found).toEqual(['SOP_NOT_IN_THE_SCHEMA']);
  } finally {
    fs.rmSync(file);
  }
});

test('a value that does not fit names the variable, the value and what it should be', () => {
  expect(envValue('SOP_HARNESS_IDLE_MS', {})).toBe(15 * 60_000);
  expect(envValue('SOP_TASK_QUEUE', { SOP_TASK_QUEUE: '' })).toBe('sop-runtime');
  expect(() => envValue('SOP_LOG_LEVEL', { SOP_LOG_LEVEL: 'loud' })).toThrow(
    'SOP_LOG_LEVEL must be one of TRACE, DEBUG, INFO, WARN, ERROR, not "loud" (see docs/configuration.md)',
  );
  expect(() => resolveTemporalTarget({ SOP_TEMPORAL_PORT: '72333' })).toThrow(
    'SOP_TEMPORAL_PORT must be a TCP port (0-65535), not "72333"',
  );
});

test('a worker with a setting that does not fit refuses to start, naming it (it used to fall back silently)', () => {
  for (const [name, value, message] of [
    ['SOP_WORKER_LOST_AFTER_MS', '500', 'a whole number of milliseconds (at least 1000), not "500"'],
    ['SOP_EVENT_MAX_DEPTH', 'deep', 'a whole number of events, not "deep"'],
    ['SOP_HARNESS_IDLE_MS', '15 min', 'a whole number of milliseconds (at least 1), not "15 min"'],
  ]) {
    process.env[name] = value;
    try {
      expect(() => createActivities({ runners: {} })).toThrow(`${name} must be ${message}`);
    } finally {
      delete process.env[name];
    }
  }
  expect(() => createActivities({ runners: {} })).not.toThrow();
});
