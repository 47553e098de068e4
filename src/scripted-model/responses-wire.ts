// The OpenAI Responses wire format (what Codex speaks): the conversation in a request, and a scripted
// reply as the SSE events of one response (a tool call or a message).

import * as fs from 'node:fs';
import type * as http from 'node:http';
import type { Reply, Scenario } from './scenario';
import {
  absolute,
  type Conversation,
  finalText,
  nextId,
  type SseEvent,
  sse,
  textOf,
  toolInput,
} from './wire-common';

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

export function streamResponses(
  res: http.ServerResponse,
  reply: Reply,
  conversation: Conversation,
  scenario: Scenario,
): void {
  const responseId = nextId('resp');
  const item = responseItem(reply, conversation);
  sse(
    res,
    responseEvents(responseId, item, finalText(reply), scenario.usage ?? { input: 1000, output: 100 }),
  );
}

/** The output item a reply is: a shell, read, MCP or tool function call, an apply_patch, or a message. */
function responseItem(reply: Reply, conversation: Conversation): Record<string, unknown> {
  const callId = nextId('call');
  if ('shell' in reply) {
    return {
      type: 'function_call',
      id: nextId('fc'),
      call_id: callId,
      name: 'exec_command',
      arguments: JSON.stringify({ cmd: reply.shell }),
      status: 'completed',
    };
  }
  if ('read' in reply) {
    return {
      type: 'function_call',
      id: nextId('fc'),
      call_id: callId,
      name: 'exec_command',
      arguments: JSON.stringify({ cmd: `cat ${shellQuote(reply.read)}` }),
      status: 'completed',
    };
  }
  if ('write' in reply) {
    return {
      type: 'custom_tool_call',
      id: nextId('ctc'),
      call_id: callId,
      name: 'apply_patch',
      input: patchFor(reply.write, conversation.cwd),
      status: 'completed',
    };
  }
  if ('mcp' in reply) {
    return {
      type: 'function_call',
      id: nextId('fc'),
      call_id: callId,
      // Codex 0.169 gives the model each MCP server's tools as a namespace `mcp__<server>` of functions
      namespace: `mcp__${reply.mcp.server}`,
      name: reply.mcp.tool,
      arguments: JSON.stringify(reply.mcp.arguments ?? {}),
      status: 'completed',
    };
  }
  if ('tool' in reply) {
    return {
      type: 'function_call',
      id: nextId('fc'),
      call_id: callId,
      name: reply.tool.name,
      arguments: JSON.stringify(toolInput(reply.tool.input, conversation.cwd)),
      status: 'completed',
    };
  }
  return {
    type: 'message',
    id: nextId('msg'),
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text: finalText(reply), annotations: [] }],
  };
}

/** The events of one streamed response carrying `item` (`text`: a message's text, sent as one delta). */
function responseEvents(
  responseId: string,
  item: Record<string, unknown>,
  text: string,
  usage: { input: number; output: number },
): SseEvent[] {
  const response = (status: string, output: unknown[]) => ({
    id: responseId,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    model: 'scripted',
    output,
  });
  const events: SseEvent[] = [
    ['response.created', { type: 'response.created', response: response('in_progress', []) }],
    [
      'response.output_item.added',
      { type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress' } },
    ],
  ];
  if (item.type === 'message') {
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
  return events;
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
