// The Anthropic Messages wire format (what Claude Code speaks): the conversation in a request, and a
// scripted reply as the SSE events of one message (a text block or a tool_use block).

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

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

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

export function hasTool(body: Record<string, unknown>, name: string): boolean {
  return Array.isArray(body.tools) && (body.tools as Array<{ name?: string }>).some((t) => t.name === name);
}

export function streamMessages(
  res: http.ServerResponse,
  reply: Reply,
  conversation: Conversation,
  scenario: Scenario,
  structured: boolean,
): void {
  const block = messageBlock(reply, conversation, structured);
  sse(res, messageEvents(block, scenario.usage ?? { input: 1000, output: 100 }));
}

/** The content block a reply is: a Bash, Read, Write, MCP, tool or StructuredOutput tool_use, or text. */
function messageBlock(reply: Reply, conversation: Conversation, structured: boolean): Block {
  if ('shell' in reply)
    return {
      type: 'tool_use',
      id: nextId('toolu'),
      name: 'Bash',
      input: { command: reply.shell, description: 'scripted command' },
    };
  else if ('read' in reply)
    return {
      type: 'tool_use',
      id: nextId('toolu'),
      name: 'Read',
      input: { file_path: absolute(reply.read, conversation.cwd) },
    };
  else if ('write' in reply)
    return {
      type: 'tool_use',
      id: nextId('toolu'),
      name: 'Write',
      input: { file_path: absolute(reply.write.path, conversation.cwd), content: reply.write.content },
    };
  else if ('mcp' in reply)
    return {
      type: 'tool_use',
      id: nextId('toolu'),
      name: mcpToolName(reply.mcp),
      input: reply.mcp.arguments ?? {},
    };
  else if ('tool' in reply)
    return {
      type: 'tool_use',
      id: nextId('toolu'),
      name: reply.tool.name,
      input: toolInput(reply.tool.input, conversation.cwd),
    };
  else if ('final' in reply && structured)
    return {
      type: 'tool_use',
      id: nextId('toolu'),
      name: 'StructuredOutput',
      input: (typeof reply.final === 'object' && reply.final !== null
        ? reply.final
        : { value: reply.final }) as Record<string, unknown>,
    };
  return { type: 'text', text: finalText(reply) };
}

/** The events of one streamed message carrying `block`. */
function messageEvents(block: Block, usage: { input: number; output: number }): SseEvent[] {
  const messageId = nextId('msg');
  const events: SseEvent[] = [
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
  return events;
}

/** The name both harnesses give the model for an MCP server's tool. */
function mcpToolName(call: { server: string; tool: string }): string {
  return `mcp__${call.server}__${call.tool}`;
}
