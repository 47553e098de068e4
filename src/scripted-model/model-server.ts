// A scripted model API on loopback: OpenAI Responses SSE (for Codex) and Anthropic Messages SSE (for
// Claude Code). The real harness binaries talk to it as to any local model server; only the model's
// replies are scripted, so sandboxes, file edits, commands and structured output are real. The two wire
// formats are responses-wire.ts (Codex) and messages-wire.ts (Claude); this file serves them.

import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hasTool, messagesConversation, streamMessages } from './messages-wire';
import { responsesConversation, streamResponses } from './responses-wire';
import { type Reply, RUN_FOLDER, RUN_FOLDER_PATH, replyAt, ruleMatches, type Scenario } from './scenario';
import { type Conversation, toolOutputsOf, turnsOf, userTextsOf } from './wire-common';

interface RecordedRequest {
  api: 'responses' | 'messages' | 'other';
  method: string;
  path: string;
  /** which rule and run answered, and the reply's position in it */
  rule?: number;
  run?: number;
  position?: number;
  reply?: string;
  /** the conversation's user text (the prompt the harness sent), for model-facing requests */
  text?: string;
  status: number;
  /** when the reply started going out (ms since the epoch): after the `wait` before it, if any */
  sentAtMs?: number;
  /** why the scenario had no reply (no rule matched, a run ran out of replies) */
  error?: string;
  /** every user message's text in the request, in order (a resumed session sends the earlier ones too) */
  userTexts?: string[];
  /**
   * the conversation in the request, one entry per item or message: `user`, `assistant`, `function_call`,
   * ... (Responses), or the role and its content block types, e.g. `assistant:tool_use(Write)` (Messages)
   */
  turns?: string[];
  /** what the harness reported back for each tool call in the request (Codex `*_output` items, Claude `tool_result`s) */
  toolOutputs?: string[];
  /**
   * the whole request body as the harness sent it (system prompt, tools, skills, messages), when the
   * server was started with `recordBodies`
   */
  body?: string;
}

export interface ModelServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /**
   * conversations being served: open from their first request until their last scripted reply (a `message`
   * or `final` one) has been sent; `most` is the most that were open at once
   */
  conversations: { open: number; most: number };
  close(): Promise<void>;
}

/** The scripted reply for a conversation (by rule and run), or why there is none. */
type Picked = { error: string } | { reply: Reply; delayMs: number; rule: number; run: number };
/** Picks the reply for a conversation answered on `res` (and counts it while it is open). */
type Pick = (conversation: Conversation, res: http.ServerResponse) => Picked;

export async function startModelServer(
  scenario: Scenario,
  options: { port?: number; recordBodies?: boolean } = {},
): Promise<ModelServer> {
  const requests: RecordedRequest[] = [];
  const conversations = { open: 0, most: 0 };
  const pick = countingConversations(replyPicker(scenario), conversations);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const record: RecordedRequest = {
        api: 'other',
        method: req.method ?? 'GET',
        path: url.pathname,
        status: 200,
      };
      requests.push(record);
      let body: Record<string, unknown> = {};
      try {
        if (chunks.length > 0) body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (options.recordBodies && chunks.length > 0) record.body = Buffer.concat(chunks).toString('utf8');
      } catch {
        return sendJson(res, record, 400, { error: { message: 'request body is not JSON' } });
      }
      serve(req, res, url, record, body, scenario, pick);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    conversations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Counts the conversations being served: one opens with a reply picked for it and closes once its last
 * scripted reply (a `message` or `final` one) has been sent.
 */
function countingConversations(
  pick: (conversation: Conversation) => Picked,
  conversations: { open: number; most: number },
): Pick {
  const open = new Set<string>();
  return (conversation, res) => {
    const picked = pick(conversation);
    if ('error' in picked) return picked;
    const key = createHash('sha256').update(conversation.text).digest('hex');
    open.add(key);
    conversations.open = open.size;
    conversations.most = Math.max(conversations.most, open.size);
    if ('message' in picked.reply || 'final' in picked.reply)
      res.on('close', () => {
        open.delete(key);
        conversations.open = open.size;
      });
    return picked;
  };
}

/**
 * Picks replies: a conversation's first request takes the next run of the first rule that matches; its
 * later requests (the same user text) go on in that run, one reply per model turn already in it.
 */
function replyPicker(scenario: Scenario): (conversation: Conversation) => Picked {
  const runCounters = new Map<number, number>();
  const assignments = new Map<string, { rule: number; run: number }>();
  return (conversation) => {
    const key = createHash('sha256').update(conversation.text).digest('hex');
    let assignment = assignments.get(key);
    if (conversation.position === 0 || !assignment) {
      const rule = scenario.rules.findIndex((r) => ruleMatches(r, conversation.text));
      if (rule < 0) return { error: noRuleMessage(scenario, conversation.text) };
      const count = runCounters.get(rule) ?? 0;
      runCounters.set(rule, count + 1);
      assignment = { rule, run: Math.min(count, scenario.rules[rule].runs.length - 1) };
      assignments.set(key, assignment);
    }
    const replies = scenario.rules[assignment.rule].runs[assignment.run];
    const scripted = replyAt(replies, conversation.position);
    const reply = scripted.reply && fillRunFolder(scripted.reply, conversation.text);
    if (!reply) {
      const calls = replies.filter((r) => !('wait' in r)).length;
      return {
        error: `scenario rule ${assignment.rule} run ${assignment.run} has ${calls} replies, but the harness asked for reply ${conversation.position + 1}: end the run with a final or message reply`,
      };
    }
    return { reply, delayMs: scripted.delayMs, ...assignment };
  };
}

/** Answers one request by its method and path: the two model APIs, token counts, model lists, probes. */
function serve(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  record: RecordedRequest,
  body: Record<string, unknown>,
  scenario: Scenario,
  pick: Pick,
) {
  if (req.method === 'POST' && url.pathname.endsWith('/responses')) {
    record.api = 'responses';
    record.userTexts = userTextsOf(body.input);
    record.turns = turnsOf(body.input);
    record.toolOutputs = toolOutputsOf(body.input);
    return answer(res, record, pick, responsesConversation(body), (reply, c) =>
      streamResponses(res, reply, c, scenario),
    );
  }
  if (req.method === 'POST' && url.pathname.endsWith('/messages/count_tokens')) {
    return sendJson(res, record, 200, { input_tokens: 100 });
  }
  if (req.method === 'POST' && url.pathname.endsWith('/messages')) {
    record.api = 'messages';
    record.userTexts = userTextsOf(body.messages);
    record.turns = turnsOf(body.messages);
    record.toolOutputs = toolOutputsOf(body.messages);
    const conversation = messagesConversation(body);
    if (!conversation) {
      // side requests (titles, quota checks) are not part of the scripted loop
      return streamMessages(res, { message: 'ok' }, { text: '', position: 0 }, scenario, false);
    }
    const structured = hasTool(body, 'StructuredOutput');
    return answer(res, record, pick, conversation, (reply, c) =>
      streamMessages(res, reply, c, scenario, structured),
    );
  }
  if (req.method === 'GET' && url.pathname.endsWith('/models')) {
    return sendJson(res, record, 200, { object: 'list', data: [], models: [] });
  }
  if (req.method === 'HEAD' || (req.method === 'GET' && url.pathname === '/')) {
    return sendJson(res, record, 200, {});
  }
  return sendJson(res, record, 404, {
    error: { message: `the scripted model server does not serve ${req.method} ${url.pathname}` },
  });
}

/** A model request: the scripted reply streamed, a scripted stall or HTTP error, or why there is none. */
function answer(
  res: http.ServerResponse,
  record: RecordedRequest,
  pick: Pick,
  conversation: Conversation,
  stream: (reply: Reply, conversation: Conversation) => void,
) {
  const picked = pick(conversation, res);
  if ('error' in picked) {
    record.error = picked.error;
    // 400, not 5xx: harnesses retry server errors for minutes, but give up on a bad request at once,
    // so the scenario mistake shows in the transcript within seconds
    return sendJson(res, record, 400, {
      type: 'error',
      error: { type: 'invalid_request_error', message: `scripted model server: ${picked.error}` },
    });
  }
  Object.assign(record, {
    text: conversation.text,
    rule: picked.rule,
    run: picked.run,
    position: conversation.position,
    reply: Object.keys(picked.reply)[0],
  });
  if (picked.delayMs > 0) {
    // a `wait` before this reply: hold it back (the harness's request stays open meanwhile)
    const timer = setTimeout(() => send(res, record, picked.reply, conversation, stream), picked.delayMs);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  send(res, record, picked.reply, conversation, stream);
}

/** Sends a picked reply: streamed, a scripted stall or a scripted HTTP error. */
function send(
  res: http.ServerResponse,
  record: RecordedRequest,
  reply: Reply,
  conversation: Conversation,
  stream: (reply: Reply, conversation: Conversation) => void,
) {
  if (res.destroyed) return;
  record.sentAtMs = Date.now();
  if ('stall' in reply) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const timer = setTimeout(() => res.end(), reply.stall.ms);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if ('error' in reply) {
    const { status, body, headers } = reply.error;
    record.status = status;
    res.writeHead(status, { 'content-type': 'application/json', ...(headers ?? {}) });
    return res.end(
      JSON.stringify(
        body ?? { type: 'error', error: { type: 'scripted_error', message: `scripted HTTP ${status}` } },
      ),
    );
  }
  stream(reply, conversation);
}

/**
 * `{{ run.folder }}` in a reply (as in SOPs; `{{ run_folder }}` too): the run folder the runtime's step
 * contract names in the prompt, workspace-relative.
 */
function fillRunFolder(reply: Reply, text: string): Reply {
  const folder = text.match(RUN_FOLDER_PATH)?.[0];
  if (!folder) return reply;
  return JSON.parse(JSON.stringify(reply).replace(RUN_FOLDER, folder)) as Reply;
}

function noRuleMessage(scenario: Scenario, text: string): string {
  // the harness's own context blocks (Codex's environment, Claude's reminders) first hide the prompt
  const prompt = text.replace(
    /<(environment_context|user_instructions|INSTRUCTIONS|system-reminder)>[\s\S]*?<\/\1>/g,
    '',
  );
  const excerpt = prompt.replace(/\s+/g, ' ').trim().slice(0, 200);
  const rules = scenario.rules.map((r, i) => `#${i} ${JSON.stringify(r.match)}`).join(', ');
  return `no scenario rule matches this conversation (user text starts: "${excerpt}"); rules: ${rules}`;
}

function sendJson(res: http.ServerResponse, record: RecordedRequest, status: number, body: unknown): void {
  record.status = status;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
