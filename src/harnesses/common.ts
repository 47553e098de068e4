// What both harness adapters share: the provider connection, a hermetic environment, the transcript
// writer + JSONL parser, and outcome parsing.

import * as fs from 'node:fs';
import type { AgentExecution, AgentRunResult } from '../activities/agent-runner';

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
  else if (connection.baseUrl && /^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(connection.baseUrl)) {
    env[keyVar] = 'sop-offline-placeholder';
  }
  return { ...env, ...extra };
}

/** Writes every stdout line to the transcript as it arrives and parses it; no line-length limit. */
export class StreamCollector {
  events = 0;
  badLines = 0;
  private readonly out: number;

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
    fs.closeSync(this.out);
  }
}

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
  const { route, summary, details } = value as { route: string; summary?: unknown; details?: unknown };
  return {
    outcome: {
      route,
      payload: {
        summary: typeof summary === 'string' ? summary : '',
        details: typeof details === 'string' ? details : '',
      },
    },
  };
}

const SECRET = /(sk-[A-Za-z0-9_-]{8,}|(?:api[_-]?key|token|secret)=[^\s"]+)/gi;

export function redactArgs(args: string[]): string[] {
  return args.map((a) => a.replace(SECRET, '[redacted]'));
}
