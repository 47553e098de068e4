// `sop run --record FILE`: a proxy on loopback between the real harnesses and their model APIs. It forwards
// every request upstream untouched (headers included, so the harness's own key authenticates) and streams
// the answer back, and keeps each model reply as a scenario reply: the scenario `sop test` replays on the
// scripted model server. Matches are the runtime's step contract lines, so they survive paths, task ids and
// timestamps; headers are never kept, and secret values are blanked out of what is written.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { messagesConversation } from './messages-wire';
import { messagesReply, type Recorded, responsesReply } from './recorded-replies';
import { responsesConversation } from './responses-wire';
import { type Reply, RUN_FOLDER_PATH, type Scenario } from './scenario';
import type { Conversation } from './wire-common';

export interface Upstreams {
  /** a Responses API base URL (what SOP_CODEX_BASE_URL names) */
  codex: string;
  /** a Messages API base URL (what SOP_CLAUDE_BASE_URL names) */
  claude: string;
}

export const DEFAULT_UPSTREAMS: Upstreams = {
  codex: 'https://api.openai.com/v1',
  claude: 'https://api.anthropic.com',
};

export interface RecordingProxy {
  /** point SOP_CODEX_BASE_URL here */
  codexBaseUrl: string;
  /** point SOP_CLAUDE_BASE_URL here */
  claudeBaseUrl: string;
  /** the scenario recorded so far, and what could not be recorded exactly */
  scenario(): { scenario: Scenario; notes: string[]; conversations: number; replies: number };
  close(): Promise<void>;
}

interface Recording {
  match: string;
  cwd?: string;
  replies: Reply[];
}

/** Request headers not forwarded: hop-by-hop, and encodings (the proxy must read the answer). */
const DROP_REQUEST = new Set(['host', 'connection', 'content-length', 'accept-encoding', 'keep-alive']);
const DROP_RESPONSE = new Set([
  'content-encoding',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
]);

export async function startRecordingProxy(
  upstreams: Upstreams,
  options: { secrets?: string[] } = {},
): Promise<RecordingProxy> {
  const conversations = new Map<string, Recording>();
  const notes: string[] = [];
  let usage: { input: number; output: number } | undefined;

  const record = (conversation: Conversation, recorded: Recorded | undefined) => {
    if (!recorded) return;
    const key = createHash('sha256').update(conversation.text).digest('hex');
    let recording = conversations.get(key);
    if (!recording) {
      recording = { match: matchFor(conversation.text), cwd: conversation.cwd, replies: [] };
      conversations.set(key, recording);
    }
    recording.replies[conversation.position] = recorded.reply;
    usage ??= recorded.usage;
    if (recorded.note) notes.push(`${recording.match}: reply ${conversation.position + 1}: ${recorded.note}`);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const [, api, ...rest] = url.pathname.split('/');
      const base = api === 'codex' ? upstreams.codex : api === 'claude' ? upstreams.claude : undefined;
      if (!base) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { message: `the recording proxy serves /codex/... and /claude/..., not ${url.pathname}` },
          }),
        );
        return;
      }
      const body = Buffer.concat(chunks);
      forward(`${base.replace(/\/$/, '')}/${rest.join('/')}${url.search}`, req, body, res).then(
        (answer) => {
          if (!answer || answer.status >= 300 || req.method !== 'POST') return;
          let json: Record<string, unknown>;
          try {
            json = JSON.parse(body.toString('utf8'));
          } catch {
            return;
          }
          if (api === 'codex' && url.pathname.endsWith('/responses')) {
            const conversation = responsesConversation(json);
            record(conversation, responsesReply(answer.body, conversation.cwd));
          } else if (api === 'claude' && url.pathname.endsWith('/messages')) {
            const conversation = messagesConversation(json);
            if (conversation) record(conversation, messagesReply(answer.body, conversation.cwd));
          }
        },
        () => undefined,
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 8);

  return {
    codexBaseUrl: `${url}/codex`,
    claudeBaseUrl: `${url}/claude`,
    scenario: () => {
      const rules: Scenario['rules'] = [];
      let replies = 0;
      for (const recording of conversations.values()) {
        const run = recording.replies
          .filter((r): r is Reply => r !== undefined)
          .map((r) => normalizeReply(r, recording.cwd, secrets));
        if (run.length === 0) continue;
        replies += run.length;
        const rule = rules.find((r) => r.match === recording.match);
        if (rule) rule.runs.push(run);
        else rules.push({ match: recording.match, runs: [run] });
      }
      return {
        scenario: { ...(usage ? { usage } : {}), rules },
        notes: [...new Set(notes)],
        conversations: conversations.size,
        replies,
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Forwards the request and streams the answer back; resolves with the status and the whole body. */
async function forward(
  target: string,
  req: http.IncomingMessage,
  body: Buffer,
  res: http.ServerResponse,
): Promise<{ status: number; body: string } | undefined> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || DROP_REQUEST.has(name)) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  headers.set('accept-encoding', 'identity');
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
  } catch (err) {
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: { message: `recording proxy: ${target} cannot be reached: ${(err as Error).message}` },
      }),
    );
    return undefined;
  }
  const out: Record<string, string> = {};
  upstream.headers.forEach((value, name) => {
    if (!DROP_RESPONSE.has(name)) out[name] = value;
  });
  res.writeHead(upstream.status, out);
  const chunks: Buffer[] = [];
  if (upstream.body) {
    for await (const chunk of upstream.body as unknown as AsyncIterable<Uint8Array>) {
      const buffer = Buffer.from(chunk);
      chunks.push(buffer);
      res.write(buffer);
    }
  }
  res.end();
  return { status: upstream.status, body: Buffer.concat(chunks).toString('utf8') };
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * The rule match of a conversation: the runtime's step contract line (SOP, step, role, attempt) and its work
 * item line, as a regular expression; no paths, task ids or times. Text without a contract (not a step's
 * prompt) matches on its first line, with paths and times left open.
 */
function matchFor(text: string): string {
  const contract = /^## Step contract \(.*\)$/m.exec(text);
  if (contract) {
    const after = text.slice(contract.index + contract[0].length);
    const item = /^\nWork item: .*$/m.exec(after);
    const itemLine = item && item.index === 0 ? item[0] : '';
    return `/${escapeRegex(contract[0] + itemLine)}$/m`;
  }
  const first = (text.split('\n').find((l) => l.trim() !== '') ?? text).trim().slice(0, 200);
  // paths and times are left open: literal pieces between them are escaped
  const volatile = /(?:\/[\w.-]+){2,}\/?|\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?(?:\.\d+)?Z?/g;
  return `/${first.split(volatile).map(escapeRegex).join('\\S+')}/`;
}

/** A reply as it is written: the run folder as {{ run.folder }}, workspace paths relative, secrets blanked. */
function normalizeReply(reply: Reply, cwd: string | undefined, secrets: string[]): Reply {
  let text = JSON.stringify(reply);
  if (cwd) text = text.split(`${cwd}/`).join('').split(cwd).join('.');
  text = text.replace(RUN_FOLDER_PATH, '{{ run.folder }}');
  for (const secret of secrets) text = text.split(secret).join('[redacted]');
  return JSON.parse(text) as Reply;
}

/** Writes the recorded scenario as YAML with a header saying what it is. */
export function writeScenario(file: string, scenario: Scenario, header: string[]): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const comments = header.map((l) => `# ${l}`).join('\n');
  fs.writeFileSync(file, `${comments}\n${stringify(scenario, { lineWidth: 0 })}`);
}

/** Values of the environment that look like secrets (keys, tokens, passwords): never written. */
export function secretValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(env)
    .filter(([name, value]) => value && /KEY|TOKEN|SECRET|PASSWORD|AUTH/i.test(name))
    .map(([, value]) => value as string);
}
