// What both harness adapters share: the provider connection, a hermetic environment, the transcript
// writer + JSONL parser, and outcome parsing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Validator } from '@cfworker/json-schema';
import { execa } from 'execa';
import type { JsonSchema } from '../shapes/execution-plan';
import { HarnessLaunch } from './reap';
import type { AgentExecution, AgentRunResult } from './runner';

/** Where a provider's model API is: a base URL (a local server, a gateway) and the env var of its key. */
export interface ProviderConnection {
  baseUrl?: string;
  /** name of the environment variable holding the key; its value goes to the harness process only */
  apiKeyEnv?: string;
  model?: string;
}

const PASS_THROUGH = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LC_ALL',
  'TERM',
  'TZ',
  'NODE_EXTRA_CA_CERTS',
];

/**
 * The harness gets a small environment, not the worker's: what a shell needs, its own config dir, and
 * the one API key it uses. Offline (a loopback base URL without a key) a placeholder key is used.
 */
export function harnessEnv(
  extra: Record<string, string>,
  keyVar: string,
  connection: ProviderConnection,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASS_THROUGH) if (process.env[name] !== undefined) env[name] = process.env[name]!;
  const key = process.env[keyVar];
  if (key) env[keyVar] = key;
  else if (isLoopback(connection.baseUrl)) {
    env[keyVar] = 'sop-offline-placeholder';
  }
  return { ...env, ...extra };
}

/**
 * Files in a home folder that change what a shell or a harness does: both harnesses snapshot the user's
 * shell start-up (functions, aliases, exports, PATH edits) into the agent's shell, and read their own
 * config from home. None of it may reach a governed run.
 */
const HOME_CONFIG_FILES = new Set([
  '.bashrc',
  '.bash_profile',
  '.bash_login',
  '.bash_logout',
  '.bash_aliases',
  '.profile',
  '.zshrc',
  '.zshenv',
  '.zprofile',
  '.zlogin',
  '.zlogout',
  '.claude',
  '.claude.json',
  '.codex',
  // the user's agent skills (Codex reads ~/.agents/skills): a step has the skills it names only
  '.agents',
]);

/**
 * A home folder for one harness process: every entry of the worker user's home linked in (toolchains
 * such as ~/.cargo, ~/.rustup, ~/.pyenv and ~/.gitconfig keep working), except shell start-up files and
 * harness config. Removing it removes only the links.
 */
export function isolatedHome(parent: string): string {
  const home = fs.mkdtempSync(path.join(parent, 'home-'));
  const real = process.env.HOME;
  let entries: string[] = [];
  try {
    if (real) entries = fs.readdirSync(real);
  } catch {
    // no readable home: the harness gets an empty one
  }
  for (const entry of entries) {
    if (HOME_CONFIG_FILES.has(entry)) continue;
    fs.symlinkSync(path.join(real!, entry), path.join(home, entry));
  }
  return home;
}

/** Writes every stdout line to the transcript as it arrives and parses it; no line-length limit. */
export class StreamCollector {
  events = 0;
  badLines = 0;
  private readonly out: number;
  private closed = false;

  constructor(execution: AgentExecution) {
    this.out = fs.openSync(execution.transcriptPath, 'a');
  }

  line(text: string): Record<string, unknown> | undefined {
    if (text.trim() === '') return undefined;
    fs.writeSync(this.out, `${text}\n`);
    try {
      const event = JSON.parse(text) as unknown;
      if (event && typeof event === 'object' && !Array.isArray(event)) {
        this.events++;
        return event as Record<string, unknown>;
      }
    } catch {
      // harnesses print the odd non-JSON line; it stays in the transcript
    }
    this.badLines++;
    return undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.out);
  }
}

/** Longest summary and details an outcome may carry (they are recorded in workflow history). */
export const OUTCOME_LIMITS = { summary: 2_000, details: 16_000 };

/** The outcome JSON ({ route, summary, details }) from the harness's final answer, or why it is unusable. */
export function parseOutcome(
  answer: unknown,
  where: string,
): Pick<AgentRunResult, 'outcome' | 'outcomeError'> {
  if (answer === undefined || answer === null || answer === '') {
    return { outcomeError: `no structured outcome: ${where} was empty` };
  }
  let value: unknown = answer;
  if (typeof answer === 'string') {
    try {
      value = JSON.parse(answer);
    } catch {
      return { outcomeError: `${where} is not JSON: ${answer.slice(0, 200)}` };
    }
  }
  if (!value || typeof value !== 'object' || typeof (value as { route?: unknown }).route !== 'string') {
    return { outcomeError: `${where} has no "route" string: ${JSON.stringify(value).slice(0, 200)}` };
  }
  const { route, summary, details, ask } = value as {
    route: string;
    summary?: unknown;
    details?: unknown;
    ask?: unknown;
  };
  // the outcome travels through workflow history: long findings belong in an artifact file
  const tooLong = [
    ['summary', summary, OUTCOME_LIMITS.summary],
    ['details', details, OUTCOME_LIMITS.details],
  ].filter(([, text, limit]) => typeof text === 'string' && text.length > (limit as number));
  if (tooLong.length > 0) {
    return {
      outcomeError: tooLong
        .map(
          ([name, text, limit]) =>
            `"${name}" is ${(text as string).length} characters; the limit is ${limit}: write long findings to a file in the run folder and summarize them here`,
        )
        .join('; '),
    };
  }
  // deliveries the agent asks for (deliver.agent: in the SOP): the workflow checks and performs them
  const deliver = (value as { deliver?: unknown }).deliver;
  const asked =
    deliver && typeof deliver === 'object' && JSON.stringify(deliver).length > OUTCOME_LIMITS.details
      ? { deliver: { refused: 'the deliver requests are longer than the outcome limit' } }
      : deliver === undefined
        ? {}
        : { deliver };
  return {
    outcome: {
      route,
      payload: {
        summary: typeof summary === 'string' ? summary : '',
        details: typeof details === 'string' ? details : '',
        // a question for a person (agent_asks routes): checked by the runtime against the request
        ...(ask === undefined || ask === null ? {} : { ask }),
        ...asked,
      },
    },
  };
}

// secrets out of argv and live texts (one home: ./redact.ts)
export { redactArgs } from './redact';

/** How a harness process ended. */
export interface HarnessExit {
  exitCode?: number;
  signal?: string;
  /** the last lines of stderr (bounded) */
  stderrTail: string;
  cancelled: boolean;
  /** killed after printing nothing for this many ms */
  idleKilledAfterMs?: number;
}

/**
 * A harness that prints nothing for this long is presumed hung: it is killed and the execution fails as
 * an infrastructure error, which Temporal retries. Generous by default, since a long test run inside a
 * step is silent too (SOP_HARNESS_IDLE_MS).
 */
function harnessIdleMs(): number {
  return Number(process.env.SOP_HARNESS_IDLE_MS ?? 15 * 60_000);
}

/** SIGTERM first, SIGKILL after this long (Claude stops its commands on SIGTERM, docs/harnesses.md). */
const KILL_GRACE_MS = Number(process.env.SOP_HARNESS_KILL_GRACE_MS ?? 5000);

/** After the harness has exited, what it left running gets this long after SIGTERM before SIGKILL. */
const LEFTOVER_GRACE_MS = 1000;

/**
 * Runs one harness process in its own process group and hands each stdout line to `onLine` as it
 * arrives (no line-length limit). Cancellation, or `stop()` from `onLine`, signals every process of the
 * launch (SIGTERM, then SIGKILL after a grace period), so no tool process the harness started outlives it;
 * once the harness has exited, whatever of the launch is left is ended too (SIGTERM, SIGKILL after
 * LEFTOVER_GRACE_MS) before this returns. The launch's processes are found as src/harnesses/reap.ts
 * says: by group and parentage, and by `ownDirs`, which also reaches sandbox helpers in a session of their own.
 */
export async function runHarnessProcess(
  file: string,
  args: string[],
  options: {
    cwd: string;
    env: Record<string, string>;
    input: string;
    signal: AbortSignal;
    onLine: (line: string, stop: () => void) => void;
    /** true while the harness waits for a person: its silence then is not a hang */
    waitingForPerson?: () => boolean;
    /** folders only this launch uses (its hermetic home, its harness home): what names one is the launch's */
    ownDirs?: string[];
  },
): Promise<HarnessExit> {
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    input: options.input,
    reject: false,
    detached: true,
    maxBuffer: { stdout: 0, stderr: 1024 * 1024 },
    buffer: { stdout: false, stderr: true },
  });
  const launch = child.pid === undefined ? undefined : new HarnessLaunch(child.pid, options.ownDirs ?? []);
  let killTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    launch?.signal('SIGTERM');
    killTimer = setTimeout(() => launch?.signal('SIGKILL'), KILL_GRACE_MS);
    killTimer.unref();
  };
  // a helper left behind may hold stdout open: the stream would not end until it is gone
  child.once('exit', () => void launch?.reap(LEFTOVER_GRACE_MS));
  const onAbort = () => stop();
  if (options.signal.aborted) stop();
  else options.signal.addEventListener('abort', onAbort, { once: true });
  const idleMs = harnessIdleMs();
  let idleKilledAfterMs: number | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  const armIdle = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (options.waitingForPerson?.()) return armIdle();
      idleKilledAfterMs = idleMs;
      stop();
    }, idleMs);
    idleTimer.unref();
  };
  armIdle();
  try {
    for await (const line of child.iterable({ from: 'stdout' })) {
      armIdle();
      options.onLine(String(line), stop);
    }
    const result = await child;
    return {
      idleKilledAfterMs,
      exitCode: result.exitCode,
      signal: result.signal,
      stderrTail: String(result.stderr ?? '')
        .trim()
        .split('\n')
        .slice(-8)
        .join('\n'),
      cancelled: options.signal.aborted,
    };
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
    if (idleTimer) clearTimeout(idleTimer);
    // stopped: everything had its SIGTERM already
    await launch?.reap(stopped ? 0 : LEFTOVER_GRACE_MS);
    launch?.close();
  }
}

/** Why `value` does not satisfy the outcome schema (all errors, one per line), or undefined. */
export function outcomeSchemaErrors(value: unknown, schema: JsonSchema): string | undefined {
  const result = new Validator(schema as never, '2020-12', false).validate(value);
  if (result.valid) return undefined;
  return result.errors
    .filter((e) => e.keyword !== 'properties' && e.keyword !== 'allOf')
    .map((e) => `${e.instanceLocation.replace(/^#/, '') || '(the outcome)'}: ${e.error}`)
    .join('\n');
}

/** The follow-up prompt that asks the same session to fix its outcome (docs/harnesses.md). */
export function correctionPrompt(problem: string): string {
  return [
    'Your final answer could not be accepted by the runtime:',
    problem,
    'Do not redo the work. Reply again with only the final answer as JSON matching the required schema.',
  ].join('\n');
}

/** Local-only base URLs get a placeholder key; anything else must have a real one. */
export function isLoopback(url: string | undefined): boolean {
  return !!url && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url);
}

/** "try again in 7s" / "retry after 20 seconds" in a provider message, as milliseconds. */
export function retryHintMs(message: string): number | undefined {
  const m = /(?:try again|retry)[^0-9]{0,20}(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?|m|min|minutes?)\b/i.exec(
    message,
  );
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2].toLowerCase();
  return unit === 'ms' ? n : unit.startsWith('m') ? n * 60_000 : n * 1000;
}

/** How long to park a run after a rate limit that names no reset time. */
export function defaultRateLimitWaitMs(): number {
  return Number(process.env.SOP_RATE_LIMIT_WAIT_MS ?? 60_000);
}
