// Every environment variable the runtime, its scripts and its test suite read, in one schema: the values
// code reads through `envValue`, and the source of docs/configuration.md (`npm run docs`). A test
// (test/docs/env.test.ts) fails when code reads a variable this schema does not list, when it lists one no
// code reads, and when the page is stale.

import { z } from 'zod';

/** The sections of docs/configuration.md, in order. */
const ENV_GROUPS = {
  temporal: 'Where Temporal is',
  worker: 'Workers and runs',
  harness: 'Harnesses and models',
  forge: 'The forge (GitHub): pull requests, comments, labels, statuses, pushes',
  cli: 'The `sop` command',
  passed: 'Passed to harness processes unchanged',
  scripts: 'The dev server and cluster scripts',
  tests: 'The test suite and CI',
} as const;
export type EnvGroup = keyof typeof ENV_GROUPS;

export interface EnvDoc {
  group: EnvGroup;
  /** what it does, as the table says it */
  meaning: string;
  /** the default as the table shows it, when it is not the schema's own default (or there is none) */
  default?: string;
  /** read by this library (or Node itself), not by the project's code */
  readBy?: string;
}

const variable = <T extends z.ZodType>(value: T, doc: EnvDoc): T => value.meta({ ...doc });

const text = () => z.string().optional();
/** A whole number at least `min`, given as text; `what` names the unit in the error. */
const whole = (fallback: number, min: number, what: string) => {
  const error = `a whole number of ${what}${min > 0 ? ` (at least ${min})` : ''}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).default(fallback);
};
const port = (fallback: number) => {
  const error = 'a TCP port (0-65535)';
  return z.coerce.number({ error }).int({ error }).min(0, { error }).max(65_535, { error }).default(fallback);
};

const ENVCONFIG = '`@temporalio/envconfig`';

export const EnvSchema = z.object({
  // where Temporal is
  TEMPORAL_ADDRESS: variable(text(), {
    group: 'temporal',
    meaning:
      "an existing cluster's frontend (`host:port`): nothing is started locally, the CLI and workers connect there",
    default: 'unset: the embedded dev server',
  }),
  TEMPORAL_PROFILE: variable(text(), {
    group: 'temporal',
    meaning: "a profile of the Temporal CLI's config file, instead of `TEMPORAL_ADDRESS`",
  }),
  TEMPORAL_CONFIG_FILE: variable(text(), {
    group: 'temporal',
    meaning: "the Temporal CLI's config file the profile is read from",
    default: "the Temporal CLI's (`~/.config/temporalio/temporal.toml`)",
    readBy: ENVCONFIG,
  }),
  TEMPORAL_NAMESPACE: variable(text(), {
    group: 'temporal',
    meaning: 'the namespace on a cluster',
    default: '`default`',
    readBy: ENVCONFIG,
  }),
  TEMPORAL_API_KEY: variable(text(), {
    group: 'temporal',
    meaning: 'API key for the cluster (Temporal Cloud); turns TLS on',
    readBy: ENVCONFIG,
  }),
  TEMPORAL_TLS: variable(text(), {
    group: 'temporal',
    meaning: '`true` to connect with TLS',
    readBy: ENVCONFIG,
  }),
  TEMPORAL_TLS_CLIENT_CERT_PATH: variable(text(), {
    group: 'temporal',
    meaning: 'client certificate for mTLS (or `TEMPORAL_TLS_CLIENT_CERT_DATA`, the PEM itself)',
    readBy: ENVCONFIG,
  }),
  TEMPORAL_TLS_CLIENT_CERT_DATA: variable(text(), {
    group: 'temporal',
    meaning: 'client certificate for mTLS, as PEM text',
    readBy: ENVCONFIG,
  }),
  TEMPORAL_TLS_CLIENT_KEY_PATH: variable(text(), {
    group: 'temporal',
    meaning: 'client key for mTLS (or `TEMPORAL_TLS_CLIENT_KEY_DATA`, the PEM itself)',
    readBy: ENVCONFIG,
  }),
  TEMPORAL_TLS_CLIENT_KEY_DATA: variable(text(), {
    group: 'temporal',
    meaning: 'client key for mTLS, as PEM text',
    readBy: ENVCONFIG,
  }),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: variable(text(), {
    group: 'temporal',
    meaning:
      'CA certificate the server certificate is checked against (or `TEMPORAL_TLS_SERVER_CA_CERT_DATA`)',
    readBy: ENVCONFIG,
  }),
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: variable(text(), {
    group: 'temporal',
    meaning: 'CA certificate the server certificate is checked against, as PEM text',
    readBy: ENVCONFIG,
  }),
  TEMPORAL_TLS_SERVER_NAME: variable(text(), {
    group: 'temporal',
    meaning: 'server name the certificate must match (SNI)',
    readBy: ENVCONFIG,
  }),
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: variable(text(), {
    group: 'temporal',
    meaning: '`true` to skip checking the server name',
    readBy: ENVCONFIG,
  }),
  SOP_TEMPORAL_PORT: variable(port(7233), {
    group: 'temporal',
    meaning: "the embedded dev server's frontend port on 127.0.0.1 (also read by `temporal/start.sh`)",
  }),
  SOP_TEMPORAL_UI_PORT: variable(port(8233), {
    group: 'temporal',
    meaning: "the embedded dev server's Web UI port",
  }),
  SOP_TEMPORAL_UI_URL: variable(text(), {
    group: 'temporal',
    meaning: "a cluster's Web UI, so that run links point there",
    default: 'unset: no links for a cluster; `http://127.0.0.1:<SOP_TEMPORAL_UI_PORT>` for the dev server',
  }),
  SOP_TASK_QUEUE: variable(z.string().default('sop-runtime'), {
    group: 'temporal',
    meaning: 'the task queue workers poll and runs are started on',
  }),
  SOP_IDENTITY: variable(text(), {
    group: 'temporal',
    meaning: 'who this client is in history: answers, messages and cancellations are recorded as sent by it',
    default: '`user@host`',
  }),

  // workers and runs
  SOP_STATE_DIR: variable(text(), {
    group: 'worker',
    meaning:
      "each harness execution's `CODEX_HOME`, Claude config folder and linked home, and kept sessions; not under `/tmp` (Codex refuses to work there)",
    default: '`~/.local/state/sop-runtime`',
  }),
  SOP_SECRETS_FILE: variable(text(), {
    group: 'worker',
    meaning:
      "a dotenv file (`NAME=value` lines) of the secrets SOPs declare (`secrets:`); a secret in the worker's environment wins over the file. Values go only to the tool servers and command steps that refer to them (docs/harnesses.md#secrets)",
  }),
  SOP_WORK_ROOT: variable(text(), {
    group: 'worker',
    meaning:
      'where a worker keeps `repo.url` runs: bare mirrors and one git worktree per run; one per worker process, not under `/tmp`',
    default: '`<SOP_STATE_DIR>/work`',
  }),
  SOP_WORKER_LOST_AFTER_MS: variable(whole(60_000, 1_000, 'milliseconds'), {
    group: 'worker',
    meaning:
      'a worker that stops polling its own queue or heartbeating for this long is lost: its `repo.url` runs move to another worker',
  }),
  SOP_WORKER_STICKY_TIMEOUT_MS: variable(whole(10_000, 1_000, 'milliseconds'), {
    group: 'worker',
    meaning:
      "how long a run's next workflow task waits for the worker that ran its last one before any worker of the queue takes it: how much longer a run stalls when that worker dies",
  }),
  SOP_MAX_CONCURRENT_ACTIVITIES: variable(whole(8, 1, 'activities'), {
    group: 'worker',
    meaning: 'activities (harness launches among them) one worker runs at once',
  }),
  SOP_EVENT_MAX_DEPTH: variable(whole(8, 0, 'events'), {
    group: 'worker',
    meaning:
      'how deep a chain of events between SOPs may go; a run that would pass it fails, naming the chain',
  }),
  SOP_AUDIT_WALK_BELOW: variable(whole(1_000, 0, 'files'), {
    group: 'worker',
    meaning:
      'a workspace with fewer files is write-audited by walking it instead of asking `git status`; 0 always asks git',
  }),
  SOP_SPARE_WORKTREES: variable(z.enum(['0', '1'], { error: '1 (keep a spare) or 0 (none)' }).default('1'), {
    group: 'worker',
    meaning:
      'repo.url workspaces: 1 keeps one spare checkout per mirror, so the next run of that repository on this worker moves it into place instead of writing every file; 0 keeps none (a spare costs the disk space of a checkout)',
  }),
  SOP_AUDIT_REUSE_MS: variable(whole(30_000, 0, 'milliseconds'), {
    group: 'worker',
    meaning:
      "how old an agent execution's after-snapshot may be to serve as the next execution's before-snapshot on the same workspace (one `git status` per execution instead of two); 0 never reuses",
  }),
  SOP_WORKFLOW_BUNDLE: variable(text(), {
    group: 'worker',
    meaning: 'the workflow code a worker loads (tests point it at a fresh bundle)',
    default: '`dist/workflow-bundle.js`, else bundled at start',
  }),
  SOP_LOG_LEVEL: variable(
    z
      .enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'], { error: 'one of TRACE, DEBUG, INFO, WARN, ERROR' })
      .optional(),
    {
      group: 'worker',
      meaning: 'the Temporal SDK log level on stderr: `TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR`',
      default: '`WARN`; `INFO` for `sop worker` and `sop dev`',
    },
  ),
  SOP_APPROVAL_SOCKET: variable(text(), {
    group: 'worker',
    meaning:
      "set by the runtime for Claude Code's approval tool (the socket it asks a person through); not a setting",
  }),

  // harnesses and models
  SOP_CODEX_BASE_URL: variable(text(), {
    group: 'harness',
    meaning: "the Responses API Codex talks to (a gateway, or the scripted model server's `<url>/v1`)",
    default: "Codex's own (`https://api.openai.com/v1`)",
  }),
  OPENAI_API_KEY: variable(text(), {
    group: 'harness',
    meaning: "Codex's API key; it reaches the harness process only, never the agent's commands",
    default: 'none; a placeholder for a loopback base URL',
  }),
  SOP_CODEX_MODEL: variable(text(), {
    group: 'harness',
    meaning: 'the model of Codex steps that name none',
    default: '`gpt-5.5`',
  }),
  SOP_CLAUDE_BASE_URL: variable(text(), {
    group: 'harness',
    meaning: 'the Messages API Claude Code talks to (passed as `ANTHROPIC_BASE_URL`)',
    default: "Claude Code's own (`https://api.anthropic.com`)",
  }),
  ANTHROPIC_API_KEY: variable(text(), {
    group: 'harness',
    meaning:
      "Claude Code's API key; read through an `apiKeyHelper` file the agent cannot read, never in its environment",
    default: 'none; a placeholder for a loopback base URL',
  }),
  SOP_CLAUDE_MODEL: variable(text(), {
    group: 'harness',
    meaning: 'the model of Claude steps that name none',
    default: '`claude-sonnet-5`',
  }),
  SOP_CLAUDE_MAX_RETRIES: variable(text(), {
    group: 'harness',
    meaning: "Claude Code's own retries of a failed model call (passed as `CLAUDE_CODE_MAX_RETRIES`)",
    default: '`2`',
  }),
  SOP_PRICES: variable(text(), {
    group: 'harness',
    meaning:
      'a JSON or YAML price table `{ <model>: { input, cached_input, output } }` in USD per million tokens, over the built-in placeholder rates for Codex',
  }),
  SOP_HARNESS_IDLE_MS: variable(whole(15 * 60_000, 1, 'milliseconds'), {
    group: 'harness',
    meaning: 'a harness that prints nothing for this long is killed as hung and launched again',
  }),
  SOP_HARNESS_KILL_GRACE_MS: variable(whole(5_000, 0, 'milliseconds'), {
    group: 'harness',
    meaning: "between the SIGTERM and the SIGKILL of a stopped harness's process group",
  }),
  SOP_RATE_LIMIT_WAIT_MS: variable(whole(60_000, 0, 'milliseconds'), {
    group: 'harness',
    meaning: 'how long a run parks after an HTTP 429 that names no reset time (Codex passes none through)',
  }),
  SOP_CODEX_BIN: variable(text(), {
    group: 'harness',
    meaning: 'a Codex binary to run instead of the pinned `@openai/codex` package',
  }),
  SOP_CLAUDE_BIN: variable(text(), {
    group: 'harness',
    meaning: 'a Claude Code binary to run instead of the pinned `@anthropic-ai/claude-code` package',
  }),

  // the forge (src/forge/credentials.ts): read by the worker only, never passed to an agent
  SOP_GITHUB_API_URL: variable(text(), {
    group: 'forge',
    meaning: "GitHub's REST API: Enterprise Server's `https://HOST/api/v3`, or a scripted forge's URL",
    default: '`https://api.github.com`',
  }),
  SOP_GITHUB_TOKEN: variable(text(), {
    group: 'forge',
    meaning: 'a token for the API and for pushing run branches (when no App variable is set)',
  }),
  SOP_GITHUB_APP_ID: variable(text(), {
    group: 'forge',
    meaning: "a GitHub App's id: the runtime acts as the App, with installation tokens that last an hour",
  }),
  SOP_GITHUB_APP_PRIVATE_KEY_FILE: variable(text(), {
    group: 'forge',
    meaning: "the App's private key (the `.pem` GitHub generated)",
  }),
  SOP_GITHUB_APP_PRIVATE_KEY: variable(text(), {
    group: 'forge',
    meaning: "the App's private key itself, instead of the file (line breaks may be written `\\n`)",
  }),
  SOP_GITHUB_APP_INSTALLATION_ID: variable(text(), {
    group: 'forge',
    meaning: "the App installation's id (the number ending its settings URL)",
  }),
  SOP_EVIDENCE_SIGNING_KEY_FILE: variable(text(), {
    group: 'forge',
    meaning:
      "an Ed25519 private key (`sop keys generate`): the pull request's run record is signed with it and names its fingerprint",
  }),

  // the sop command
  SOP_SERVE_PORT: variable(port(8788), {
    group: 'cli',
    meaning: "`sop serve`'s port (`--port` wins)",
  }),
  SOP_GITHUB_WEBHOOK_SECRET: variable(text(), {
    group: 'cli',
    meaning:
      "`sop serve`'s secret for `POST /hooks/github` (the GitHub App's webhook secret) when no trigger declares that hook, so review events still reach runs; the scripted forge signs its `--webhook` deliveries with it",
  }),
  SOP_CONSOLE_TOKENS_FILE: variable(text(), {
    group: 'cli',
    meaning:
      "the console's sign-in tokens: a YAML file of `users: [{ name, role, token }]` (roles viewer, approver, operator); `sop serve` on a non-loopback address needs it or `SOP_CONSOLE_PROXY_HEADER`",
  }),
  SOP_CONSOLE_PROXY_HEADER: variable(text(), {
    group: 'cli',
    meaning:
      'the header a trusted reverse proxy puts the signed-in user in (e.g. `X-Forwarded-User`); read only from `SOP_CONSOLE_PROXY_FROM`',
  }),
  SOP_CONSOLE_PROXY_ROLE_HEADER: variable(text(), {
    group: 'cli',
    meaning: "the proxy's header with the user's role (viewer, approver, operator); absent: viewer",
  }),
  SOP_CONSOLE_PROXY_FROM: variable(z.string().default('127.0.0.1,::1'), {
    group: 'cli',
    meaning: 'the addresses (comma-separated) whose proxy headers the console trusts',
  }),
  SOP_CONSOLE_SESSION_SECRET: variable(text(), {
    group: 'cli',
    meaning:
      "the key that signs the console's session cookies (32 characters or more); unset: a new one per start (sessions end when `sop serve` restarts)",
  }),
  SOP_CONSOLE_SESSION_HOURS: variable(whole(12, 1, 'hours'), {
    group: 'cli',
    meaning: 'how long a console sign-in lasts',
  }),
  SOP_DEBUG: variable(text(), {
    group: 'cli',
    meaning: 'any value: an unexpected error also prints its stack trace',
  }),
  CI: variable(text(), {
    group: 'cli',
    meaning: 'any value: an attached `sop run` never asks for answers at a prompt',
  }),
  NO_COLOR: variable(text(), {
    group: 'cli',
    meaning: 'any value: no colour (colour is only ever used on a terminal)',
    readBy: 'Node (`tty.hasColors`)',
  }),
  NODE_DISABLE_COLORS: variable(text(), {
    group: 'cli',
    meaning: 'any value: no colour',
    readBy: 'Node (`tty.hasColors`)',
  }),
  FORCE_COLOR: variable(text(), {
    group: 'cli',
    meaning: 'colour on a terminal that does not report it',
    readBy: 'Node (`tty.hasColors`)',
  }),

  // passed through to the harness process (nothing else of the worker's environment is)
  PATH: variable(text(), { group: 'passed', meaning: 'where the agent finds its tools' }),
  HOME: variable(text(), {
    group: 'passed',
    meaning:
      "the real home: each harness process gets a home of its own that links every entry of it except shell start-up files and the harnesses' config",
  }),
  USER: variable(text(), { group: 'passed', meaning: 'also the user of the default `SOP_IDENTITY`' }),
  LOGNAME: variable(text(), { group: 'passed', meaning: 'the login name' }),
  SHELL: variable(text(), { group: 'passed', meaning: "the user's shell" }),
  LANG: variable(text(), { group: 'passed', meaning: 'the locale' }),
  LC_ALL: variable(text(), { group: 'passed', meaning: 'the locale, overriding `LANG`' }),
  TERM: variable(text(), {
    group: 'passed',
    meaning: 'the terminal type; `dumb` also turns colour off in the `sop` command',
  }),
  TZ: variable(text(), { group: 'passed', meaning: 'the time zone' }),
  NODE_EXTRA_CA_CERTS: variable(text(), {
    group: 'passed',
    meaning: 'extra CA certificates for a gateway with its own certificate authority',
  }),

  // the scripts of temporal/ and scripts/
  SOP_TEMPORAL_STATE_DIR: variable(text(), {
    group: 'scripts',
    meaning: "the embedded dev server's database, log and pid file (`temporal/start.sh`, `stop.sh`)",
    default: '`$XDG_STATE_HOME/sop-runtime/temporal`',
  }),
  SOP_TEMPORAL_BIN: variable(text(), {
    group: 'scripts',
    meaning:
      'a Temporal CLI to run the embedded dev server with instead of building `temporal/bin/temporal` (no Go needed; another version than the pinned one is used with a warning)',
    default: 'unset: `temporal/build.sh` builds the pinned one',
  }),
  XDG_STATE_HOME: variable(text(), {
    group: 'scripts',
    meaning:
      "base of the dev server's and the cluster's state folders (the runtime's `SOP_STATE_DIR` does not use it)",
    default: '`~/.local/state`',
  }),
  SOP_CLUSTER_PORT: variable(port(17233), {
    group: 'scripts',
    meaning:
      "the PostgreSQL-backed cluster's frontend gRPC port (`temporal/cluster/`); the server also uses +1, +2, +6, +10 and those +100",
  }),
  SOP_CLUSTER_UI_PORT: variable(port(18233), {
    group: 'scripts',
    meaning: "the cluster's Web UI port",
  }),
  SOP_CLUSTER_PG_PORT: variable(port(55432), {
    group: 'scripts',
    meaning: "the cluster's private PostgreSQL port on 127.0.0.1",
  }),
  SOP_CLUSTER_STATE_DIR: variable(text(), {
    group: 'scripts',
    meaning: "the cluster's PostgreSQL data, server config and logs",
    default: '`$XDG_STATE_HOME/sop-runtime/cluster`; as root `/var/lib/sop-runtime/cluster`',
  }),
  SOP_GO_BUILD_JOBS: variable(whole(1, 1, 'jobs'), {
    group: 'scripts',
    meaning: "parallel jobs of the cluster's Go build (`temporal/cluster/build.sh`)",
  }),

  // the shipped issue-tracker MCP server (tests and examples)
  ISSUE_TRACKER_SEED: variable(text(), {
    group: 'tests',
    meaning:
      'the shipped issue-tracker MCP server (`dist/scripted-model/issue-tracker-mcp.js`): a JSON file `{ "<id>": { title, body } }` of issues to seed beside #1 and #2',
  }),
  ISSUE_TRACKER_LOG: variable(text(), {
    group: 'tests',
    meaning:
      'the shipped issue-tracker MCP server: a file each call that reached it is appended to, as a JSON line `{ tool, arguments }`',
  }),
  ISSUE_TRACKER_TOKEN: variable(text(), {
    group: 'tests',
    meaning:
      'the shipped issue-tracker MCP server: its API token (a secret an SOP gives it); its sha256 is logged at start as `{ token_sha256 }`',
  }),

  // the test suite and CI
  SOP_TEMPORAL_MODE: variable(z.enum(['dev', 'cluster'], { error: 'dev or cluster' }).default('dev'), {
    group: 'tests',
    meaning:
      '`cluster`: the workflow and e2e tiers start a PostgreSQL-backed cluster of their own instead of a dev server (`npm run test:cluster` sets it)',
  }),
  SOP_TEST_TIER: variable(text(), {
    group: 'tests',
    meaning:
      'the jest projects to run: `unit`, `workflow`, `e2e` or a comma list of them (`npm run test:unit`, `test:workflow`, `test:e2e` set it)',
    default: 'all three',
  }),
  SOP_TEST_WORKERS: variable(text(), {
    group: 'tests',
    meaning: 'how many test files jest runs at once (to measure another count)',
    default: 'the cores less one, at least 2',
  }),
  SOP_TEST_RESULTS: variable(text(), {
    group: 'tests',
    meaning:
      "a folder: `npm test` writes each tier's jest results (`<tier>.json`) and time (`<tier>.seconds`) there (`.ci/run` sets it)",
  }),
  SOP_CHROMIUM: variable(z.string().default('/usr/bin/chromium'), {
    group: 'tests',
    meaning:
      "the Chromium the console's browser tests drive (`scripts/setup.sh` installs Debian's `chromium`)",
  }),
  SOP_CONSOLE_SCREENSHOTS: variable(text(), {
    group: 'tests',
    meaning:
      "a folder: the console's browser test saves the runs list and run page screenshots there (`scripts/console-screenshots.sh`)",
  }),
  SOP_TEST_CLUSTER_PORT: variable(port(27233), {
    group: 'tests',
    meaning: "the tests' own cluster's frontend port (Web UI +1000, PostgreSQL +29199)",
  }),
  SOP_TEST_CLUSTER_STATE_DIR: variable(text(), {
    group: 'tests',
    meaning: "the tests' own cluster's state folder, removed at each test run's start",
    default: '`cluster-tests` beside the default cluster state folder',
  }),
  SOP_CI_CLUSTER: variable(text(), {
    group: 'tests',
    meaning: '`1`: `.ci/run` also runs the workflow and e2e tiers against the PostgreSQL-backed cluster',
  }),
  SOP_RECORD_HISTORIES: variable(text(), {
    group: 'tests',
    meaning:
      'any value: the workflow tier saves the histories of its runs to `test/histories/` (`npm run record:histories`)',
  }),
  SOP_CHAOS_KILLS: variable(whole(3, 0, 'kills'), {
    group: 'tests',
    meaning: 'worker kill -9s of the crash test (`npm run chaos`: 10)',
  }),
  SOP_CHAOS_RUNS: variable(whole(50, 1, 'runs'), {
    group: 'tests',
    meaning: 'concurrent runs of the crash test (`npm run chaos`: 500)',
  }),
  SOP_FUZZ_CASES: variable(whole(600, 1, 'SOPs'), {
    group: 'tests',
    meaning: 'fuzzed SOPs the compiler is given (`npm run chaos`: 5,000)',
  }),
  SOP_FUZZ_SEED: variable(whole(20261125, 0, 'a seed'), {
    group: 'tests',
    meaning: "the fuzz test's random seed",
  }),
});

export type Env = z.output<typeof EnvSchema>;
export type EnvName = keyof Env;

/** The documentation of one variable. */
export function envDoc(name: EnvName): EnvDoc {
  return EnvSchema.shape[name].meta() as unknown as EnvDoc;
}

/**
 * The value of one variable, parsed by its schema (unset or empty: its default). A value that does not
 * fit throws one line naming the variable, what it holds and what it should be.
 */
export function envValue<N extends EnvName>(name: N, env: NodeJS.ProcessEnv = process.env): Env[N] {
  const raw = env[name];
  const parsed = EnvSchema.shape[name].safeParse(raw === '' ? undefined : raw);
  if (!parsed.success)
    throw new Error(
      `${name} must be ${parsed.error.issues[0].message}, not ${JSON.stringify(raw)} (see docs/configuration.md)`,
    );
  return parsed.data as Env[N];
}

/** Checks every variable of `groups` at once (a worker checks its settings at start). */
export function checkEnv(groups: EnvGroup[], env: NodeJS.ProcessEnv = process.env): void {
  for (const name of Object.keys(EnvSchema.shape) as EnvName[])
    if (groups.includes(envDoc(name).group)) envValue(name, env);
}

/** The default as docs/configuration.md shows it. */
function shownDefault(name: EnvName): string {
  const doc = envDoc(name);
  if (doc.default) return doc.default;
  const value = EnvSchema.shape[name].safeParse(undefined);
  return value.success && value.data !== undefined ? `\`${String(value.data)}\`` : '—';
}

/** docs/configuration.md's tables: one per group, every variable with its default and meaning. */
export function envTables(): string {
  const names = Object.keys(EnvSchema.shape) as EnvName[];
  return Object.entries(ENV_GROUPS)
    .map(([group, title]) => {
      const rows = names
        .filter((name) => envDoc(name).group === group)
        .map((name) => {
          const doc = envDoc(name);
          const meaning = doc.readBy ? `${doc.meaning} (read by ${doc.readBy})` : doc.meaning;
          return `| \`${name}\` | ${shownDefault(name)} | ${meaning} |`;
        });
      return [`### ${title}`, '', '| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
    })
    .join('\n\n');
}
