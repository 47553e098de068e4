// What both wire formats of the scripted model server share: the conversation a request carries (what
// the rules match and which reply comes next), what is recorded of a request, and the SSE framing.

import type * as http from 'node:http';
import * as path from 'node:path';
import type { Reply } from './scenario';

export interface Conversation {
  /** the text rules match against: what the user (the runtime) said */
  text: string;
  /** model turns already in the request: the index of the reply to give now */
  position: number;
  cwd?: string;
}

export type SseEvent = [string, unknown];

export function sse(res: http.ServerResponse, events: SseEvent[]): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  for (const [event, data] of events) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  res.end();
}

let counter = 0;
export const nextId = (prefix: string) => `${prefix}_${Date.now().toString(36)}${(counter++).toString(36)}`;

export function absolute(file: string, cwd: string | undefined): string {
  return path.isAbsolute(file) || !cwd ? file : path.join(cwd, file);
}

/** A `tool` reply's input: the path fields the harnesses' file tools take, made absolute against the cwd. */
export function toolInput(input: Record<string, unknown>, cwd: string | undefined): Record<string, unknown> {
  const out = { ...input };
  for (const key of ['file_path', 'path', 'notebook_path'])
    if (typeof out[key] === 'string') out[key] = absolute(out[key] as string, cwd);
  return out;
}

export function finalText(reply: Reply): string {
  if ('final' in reply) return typeof reply.final === 'string' ? reply.final : JSON.stringify(reply.final);
  if ('message' in reply) return reply.message;
  return '';
}

export function textOf(content: unknown): string {
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
export function userTextsOf(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return (list as Array<Record<string, unknown>>)
    .filter((m) => m.role === 'user' && (m.type === undefined || m.type === 'message'))
    .map((m) => textOf(m.content))
    .filter((text) => text !== '');
}

/** One short description per item of a Responses `input` or message of a Messages `messages` list. */
export function turnsOf(list: unknown): string[] {
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
export function toolOutputsOf(list: unknown): string[] {
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
