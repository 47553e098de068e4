// A scripted model API on loopback: OpenAI Responses SSE (for Codex) and Anthropic Messages SSE (for
// Claude Code). The real harness binaries talk to it as to any local model server; only the model's
// replies are scripted, so sandboxes, file edits, commands and structured output are real.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { type Reply, RUN_FOLDER, RUN_FOLDER_PATH, replyAt, ruleMatches, type Scenario } from './scenario';

export interface RecordedRequest {
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
  close(): Promise<void>;
}

export interface Conversation {
  /** the text rules match against: what the user (the runtime) said */
  text: string;
  /** model turns already in the request: the index of the reply to give now */
  position: number;
  cwd?: string;
}

export async function startModelServer(
  scenario: Scenario,
  options: { port?: number; recordBodies?: boolean } = {},
): Promise<ModelServer> {
  const requests: RecordedRequest[] = [];
  const runCounters = new Map<number, number>();
  const assignments = new Map<string, { rule: number; run: number }>();

  /** the reply for a conversation, or why there is none */
  const pick = (conversation: Conversation) => {
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
      if (req.method === 'POST' && url.pathname.endsWith('/responses')) {
        record.api = 'responses';
        record.userTexts = userTextsOf(body.input);
        record.turns = turnsOf(body.input);
        record.toolOutputs = toolOutputsOf(body.input);
        return answer(res, record, responsesConversation(body), (reply, c) =>
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
        return answer(res, record, conversation, (reply, c) =>
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
    });
  });

  const answer = (
    res: http.ServerResponse,
    record: RecordedRequest,
    conversation: Conversation,
    stream: (reply: Reply, conversation: Conversation) => void,
  ) => {
    const picked = pick(conversation);
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
  };

  const send = (
    res: http.ServerResponse,
    record: RecordedRequest,
    reply: Reply,
    conversation: Conversation,
    stream: (reply: Reply, conversation: Conversation) => void,
  ) => {
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
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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

function sse(res: http.ServerResponse, events: Array<[string, unknown]>): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  for (const [event, data] of events) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  res.end();
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string'
          ? (part as { text: string }).text
          : '',
      )
      .join('\n');
  }
  return '';
}

/** The text of every user message in a Responses `input` or a Messages `messages` list. */
function userTextsOf(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return (list as Array<Record<string, unknown>>)
    .filter((m) => m.role === 'user' && (m.type === undefined || m.type === 'message'))
    .map((m) => textOf(m.content))
    .filter((text) => text !== '');
}

/** One short description per item of a Responses `input` or message of a Messages `messages` list. */
function turnsOf(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return (list as Array<Record<string, unknown>>).map((m) => {
    const name = (x: Record<string, unknown>) => (typeof x.name === 'string' ? `(${x.name})` : '');
    if (m.type !== undefined && m.type !== 'message') return `${m.type}${name(m)}`;
    const blocks = Array.isArray(m.content)
      ? (m.content as Array<Record<string, unknown>>).map((b) => `${b.type}${name(b)}`).join(',')
      : 'text';
    return `${m.role}:${blocks}`;
  });
}

/** The text of every tool call's result in a Responses `input` or a Messages `messages` list, in order. */
function toolOutputsOf(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const outputs: string[] = [];
  for (const m of list as Array<Record<string, unknown>>) {
    if (typeof m.type === 'string' && m.type.endsWith('_output'))
      outputs.push(typeof m.output === 'string' ? m.output : JSON.stringify(m.output));
    else if (Array.isArray(m.content))
      for (const b of m.content as Array<Record<string, unknown>>)
        if (b.type === 'tool_result')
          outputs.push(typeof b.content === 'string' ? b.content : textOf(b.content));
  }
  return outputs;
}

/** Codex: user text is every user message before the first model output; position counts model outputs. */
export function responsesConversation(body: Record<string, unknown>): Conversation {
  const input = Array.isArray(body.input) ? (body.input as Array<Record<string, unknown>>) : [];
  const modelTurns = new Set(['function_call', 'custom_tool_call', 'local_shell_call']);
  let position = 0;
  const userTexts: string[] = [];
  for (const item of input) {
    if (modelTurns.has(String(item.type)) || (item.type === 'message' && item.role === 'assistant'))
      position++;
    else if (item.type === 'message' && item.role === 'user' && position === 0)
      userTexts.push(textOf(item.content));
  }
  const text = userTexts.join('\n');
  const cwd = /<cwd>([^<]+)<\/cwd>/.exec(text)?.[1]?.trim();
  return { text, position, cwd };
}

/** Claude: user text is the first user message; position counts assistant messages. Undefined for side requests. */
export function messagesConversation(body: Record<string, unknown>): Conversation | undefined {
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ name?: string }>) : [];
  if (!tools.some((t) => t.name === 'Bash' || t.name === 'Read')) return undefined;
  const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
  const first = messages.find((m) => m.role === 'user');
  const position = messages.filter(
    (m, i) => m.role === 'assistant' && !echoesStructuredOutput(messages, i),
  ).length;
  const system = textOf(body.system);
  const cwd =
    /Working directory: (\S+)/.exec(system)?.[1] ??
    /Working directory: (\S+)/.exec(textOf(first?.content))?.[1];
  return { text: textOf(first?.content), position, cwd };
}

/**
 * A resumed Claude session replays a structured answer as an assistant text message of its own after the
 * StructuredOutput tool result (observed with 2.1.330): the model never sent it, so it is not a reply
 * position (a scenario's replies go on where the earlier execution ended).
 */
function echoesStructuredOutput(messages: Array<Record<string, unknown>>, index: number): boolean {
  const blocks = (m: Record<string, unknown> | undefined) =>
    Array.isArray(m?.content) ? (m.content as Array<Record<string, unknown>>) : [];
  if (!blocks(messages[index]).every((b) => b.type === 'text')) return false;
  const answered = blocks(messages[index - 1])
    .filter((b) => b.type === 'tool_result')
    .map((b) => b.tool_use_id);
  return blocks(messages[index - 2]).some(
    (b) => b.type === 'tool_use' && b.name === 'StructuredOutput' && answered.includes(b.id),
  );
}

function hasTool(body: Record<string, unknown>, name: string): boolean {
  return Array.isArray(body.tools) && (body.tools as Array<{ name?: string }>).some((t) => t.name === name);
}

function absolute(file: string, cwd: string | undefined): string {
  return path.isAbsolute(file) || !cwd ? file : path.join(cwd, file);
}

/** A `tool` reply's input: the path fields the harnesses' file tools take, made absolute against the cwd. */
function toolInput(input: Record<string, unknown>, cwd: string | undefined): Record<string, unknown> {
  const out = { ...input };
  for (const key of ['file_path', 'path', 'notebook_path'])
    if (typeof out[key] === 'string') out[key] = absolute(out[key] as string, cwd);
  return out;
}

/** The name both harnesses give the model for an MCP server's tool. */
function mcpToolName(call: { server: string; tool: string }): string {
  return `mcp__${call.server}__${call.tool}`;
}

function finalText(reply: Reply): string {
  if ('final' in reply) return typeof reply.final === 'string' ? reply.final : JSON.stringify(reply.final);
  if ('message' in reply) return reply.message;
  return '';
}

let counter = 0;
const nextId = (prefix: string) => `${prefix}_${Date.now().toString(36)}${(counter++).toString(36)}`;

// ---- OpenAI Responses (Codex) ------------------------------------------------------------------------

function streamResponses(
  res: http.ServerResponse,
  reply: Reply,
  conversation: Conversation,
  scenario: Scenario,
): void {
  const responseId = nextId('resp');
  const callId = nextId('call');
  let item: Record<string, unknown>;
  if ('shell' in reply) {
    item = {
      type: 'function_call',
      id: nextId('fc'),
      call_id: callId,
      name: 'exec_command',
      arguments: JSON.stringify({ cmd: reply.shell }),
      status: 'completed',
    };
  } else if ('read' in reply) {
    item = {
      type: 'function_call',
      id: nextId('fc'),
      call_id: callId,
      name: 'exec_command',
      arguments: JSON.stringify({ cmd: `cat ${shellQuote(reply.read)}` }),
      status: 'completed',
    };
  } else if ('write' in reply) {
    item = {
      type: 'custom_tool_call',
      id: nextId('ctc'),
      call_id: callId,
      name: 'apply_patch',
      input: patchFor(reply.write, conversation.cwd),
      status: 'completed',
    };
  } else if ('mcp' in reply) {
    item = {
      type: 'function_call',
      id: nextId('fc'),
      call_id: callId,
      // Codex 0.169 gives the model each MCP server's tools as a namespace `mcp__<server>` of functions
      namespace: `mcp__${reply.mcp.server}`,
      name: reply.mcp.tool,
      arguments: JSON.stringify(reply.mcp.arguments ?? {}),
      status: 'completed',
    };
  } else if ('tool' in reply) {
    item = {
      type: 'function_call',
      id: nextId('fc'),
      call_id: callId,
      name: reply.tool.name,
      arguments: JSON.stringify(toolInput(reply.tool.input, conversation.cwd)),
      status: 'completed',
    };
  } else {
    const text = finalText(reply);
    item = {
      type: 'message',
      id: nextId('msg'),
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text, annotations: [] }],
    };
  }
  const usage = scenario.usage ?? { input: 1000, output: 100 };
  const response = (status: string, output: unknown[]) => ({
    id: responseId,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    model: 'scripted',
    output,
  });
  const events: Array<[string, unknown]> = [
    ['response.created', { type: 'response.created', response: response('in_progress', []) }],
    [
      'response.output_item.added',
      { type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress' } },
    ],
  ];
  if (item.type === 'message') {
    const text = finalText(reply);
    events.push([
      'response.output_text.delta',
      {
        type: 'response.output_text.delta',
        item_id: item.id,
        output_index: 0,
        content_index: 0,
        delta: text,
      },
    ]);
  }
  events.push(['response.output_item.done', { type: 'response.output_item.done', output_index: 0, item }]);
  events.push([
    'response.completed',
    {
      type: 'response.completed',
      response: {
        ...response('completed', [item]),
        usage: {
          input_tokens: usage.input,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: usage.output,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: usage.input + usage.output,
        },
      },
    },
  ]);
  sse(res, events);
}

/** apply_patch input: Add File for a new file, a whole-file Update otherwise. */
function patchFor(write: { path: string; content: string }, cwd: string | undefined): string {
  const target = absolute(write.path, cwd);
  const plus = (text: string) =>
    text
      .split('\n')
      .filter((_, i, all) => i < all.length - 1 || all[i] !== '')
      .map((l) => `+${l}`);
  let existing: string | undefined;
  try {
    existing = fs.readFileSync(target, 'utf8');
  } catch {
    existing = undefined;
  }
  if (existing === undefined) {
    return ['*** Begin Patch', `*** Add File: ${write.path}`, ...plus(write.content), '*** End Patch'].join(
      '\n',
    );
  }
  const minus = existing
    .split('\n')
    .filter((_, i, all) => i < all.length - 1 || all[i] !== '')
    .map((l) => `-${l}`);
  return [
    '*** Begin Patch',
    `*** Update File: ${write.path}`,
    '@@',
    ...minus,
    ...plus(write.content),
    '*** End Patch',
  ].join('\n');
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

// ---- Anthropic Messages (Claude Code) ----------------------------------------------------------------

function streamMessages(
  res: http.ServerResponse,
  reply: Reply,
  conversation: Conversation,
  scenario: Scenario,
  structured: boolean,
): void {
  const usage = scenario.usage ?? { input: 1000, output: 100 };
  let block:
    | { type: 'text'; text: string }
    | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };
  if ('shell' in reply)
    block = {
      type: 'tool_use',
      id: nextId('toolu'),
      name: 'Bash',
      input: { command: reply.shell, description: 'scripted command' },
    };
  else if ('read' in reply)
    block = {
      type: 'tool_use',
      id: nextId('toolu'),
      name: 'Read',
      input: { file_path: absolute(reply.read, conversation.cwd) },
    };
  else if ('write' in reply)
    block = {
      type: 'tool_use',
      id: nextId('toolu'),
      name: 'Write',
      input: { file_path: absolute(reply.write.path, conversation.cwd), content: reply.write.content },
    };
  else if ('mcp' in reply)
    block = {
      type: 'tool_use',
      id: nextId('toolu'),
      name: mcpToolName(reply.mcp),
      input: reply.mcp.arguments ?? {},
    };
  else if ('tool' in reply)
    block = {
      type: 'tool_use',
      id: nextId('toolu'),
      name: reply.tool.name,
      input: toolInput(reply.tool.input, conversation.cwd),
    };
  else if ('final' in reply && structured)
    block = {
      type: 'tool_use',
      id: nextId('toolu'),
      name: 'StructuredOutput',
      input: (typeof reply.final === 'object' && reply.final !== null
        ? reply.final
        : { value: reply.final }) as Record<string, unknown>,
    };
  else block = { type: 'text', text: finalText(reply) };

  const messageId = nextId('msg');
  const events: Array<[string, unknown]> = [
    [
      'message_start',
      {
        type: 'message_start',
        message: {
          id: messageId,
          type: 'message',
          role: 'assistant',
          model: 'scripted',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: usage.input,
            output_tokens: 1,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          },
        },
      },
    ],
  ];
  if (block.type === 'text') {
    events.push([
      'content_block_start',
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ]);
    events.push([
      'content_block_delta',
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: block.text } },
    ]);
  } else {
    events.push([
      'content_block_start',
      {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
      },
    ]);
    events.push([
      'content_block_delta',
      {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
      },
    ]);
  }
  events.push(['content_block_stop', { type: 'content_block_stop', index: 0 }]);
  events.push([
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason: block.type === 'text' ? 'end_turn' : 'tool_use', stop_sequence: null },
      usage: { output_tokens: usage.output },
    },
  ]);
  events.push(['message_stop', { type: 'message_stop' }]);
  sse(res, events);
}
