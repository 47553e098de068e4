// A polling sensor's poll: run the declared command (in the project root) or GET the declared URL, read a
// JSON list of items, and return each item with its id (and watermark value). Header values may name
// environment variables as {{ env.NAME }}: they are read here, on the worker, and never reach history.

import { ApplicationFailure } from '@temporalio/activity';
import { execa } from 'execa';
import { lookup } from '../shapes/render-text';
import type { PollSpec } from '../shapes/triggers';

export interface PollRequest {
  poll: PollSpec;
  projectDir: string;
  /** for messages: `<sop>.<trigger>` */
  label: string;
}

interface PolledItem {
  id: string;
  /** the watermark field's value, when the sensor declares one */
  mark?: string | number;
  item: unknown;
}

export interface PollResult {
  items: PolledItem[];
  /** items left out (no id, a watermark that is not a string or number), one line each */
  problems: string[];
}

/** At most this many items per poll (the rest come in the next polls; items must stay small). */
const MAX_ITEMS_PER_POLL = 500;
const COMMAND_TIMEOUT_MS = 20_000;
const HTTP_TIMEOUT_MS = 20_000;
const POLL_FAILED = 'SopPollFailed';

export async function pollSensor(request: PollRequest): Promise<PollResult> {
  const answer = await fetchItems(request);
  const list = request.poll.items ? lookup(answer, request.poll.items) : answer;
  if (!Array.isArray(list)) {
    throw ApplicationFailure.nonRetryable(
      `${request.label}: the poll answered ${describe(list)}${request.poll.items ? ` at "${request.poll.items}"` : ''}, not a JSON list of items; make it print a list or set poll.items to the list's path`,
      POLL_FAILED,
    );
  }
  const items: PolledItem[] = [];
  const problems: string[] = [];
  for (const [index, item] of list.entries()) {
    const id = lookup(item, request.poll.itemId);
    if (typeof id !== 'string' && typeof id !== 'number') {
      problems.push(`item ${index} has no "${request.poll.itemId}" (string or number): left out`);
      continue;
    }
    let mark: string | number | undefined;
    if (request.poll.watermark) {
      const value = lookup(item, request.poll.watermark);
      if (typeof value !== 'string' && typeof value !== 'number') {
        problems.push(`item ${id} has no "${request.poll.watermark}" (string or number): left out`);
        continue;
      }
      mark = value;
    }
    items.push({ id: String(id), ...(mark !== undefined ? { mark } : {}), item });
  }
  return { items: items.slice(0, MAX_ITEMS_PER_POLL), problems };
}

async function fetchItems({ poll, projectDir, label }: PollRequest): Promise<unknown> {
  if (poll.command !== undefined) {
    const result = await execa(poll.command, {
      shell: true,
      cwd: projectDir,
      reject: false,
      timeout: COMMAND_TIMEOUT_MS,
      stdin: 'ignore',
    });
    if (result.exitCode !== 0) {
      throw ApplicationFailure.retryable(
        `${label}: poll command exited ${result.exitCode ?? result.signal}: ${String(result.stderr).trim().split('\n').slice(-1)[0] ?? ''}`,
        POLL_FAILED,
      );
    }
    return parseJson(String(result.stdout), label);
  }
  const http = poll.http!;
  const headers = Object.fromEntries(
    Object.entries(http.headers).map(([k, v]) => [
      k,
      v.replace(/\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, name: string) => process.env[name] ?? ''),
    ]),
  );
  const response = await fetch(http.url, { headers, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  if (!response.ok) {
    throw ApplicationFailure.retryable(`${label}: GET ${http.url} answered ${response.status}`, POLL_FAILED);
  }
  return parseJson(await response.text(), label);
}

function parseJson(text: string, label: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw ApplicationFailure.nonRetryable(
      `${label}: the poll's output is not JSON (starts with ${JSON.stringify(text.slice(0, 40))})`,
      POLL_FAILED,
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
