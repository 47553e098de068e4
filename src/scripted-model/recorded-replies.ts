// A model API response as a scenario reply: what `sop run --record` writes, so `sop test` can replay it on
// the scripted model server. Pure functions of the response (and, for edits, of the file as it is now).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Reply } from './scenario';

export interface Recorded {
  reply: Reply;
  usage?: { input: number; output: number };
  /** what could not be recorded exactly (the reply approximates it) */
  note?: string;
}

/** Server-sent events of a response body, or the body as one JSON document when it is not a stream. */
function events(body: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  if (!/^\s*(event|data):/m.test(body)) {
    try {
      return [JSON.parse(body)];
    } catch {
      return [];
    }
  }
  for (const line of body.split('\n')) {
    if (!line.startsWith('data:')) continue;
    try {
      out.push(JSON.parse(line.slice(5).trim()));
    } catch {
      // [DONE] and keep-alives
    }
  }
  return out;
}

/** A structured outcome when the text is a JSON object, else the plain text. */
function textReply(text: string): Reply {
  try {
    const value = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return { final: value };
  } catch {
    // plain text
  }
  return { message: text };
}

const relative = (file: string, cwd: string | undefined) =>
  cwd && path.isAbsolute(file) && (file === cwd || file.startsWith(`${cwd}/`))
    ? path.relative(cwd, file)
    : file;

const readOrEmpty = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

// ---- OpenAI Responses (Codex) ------------------------------------------------------------------------

/** The reply a Responses API answer gave (its first tool call or message), or undefined when it had none. */
export function responsesReply(body: string, cwd: string | undefined): Recorded | undefined {
  const evs = events(body);
  const completed = evs.find((e) => e.type === 'response.completed')?.response as
    | { output?: unknown[]; usage?: { input_tokens?: number; output_tokens?: number } }
    | undefined;
  const whole = evs.length === 1 && Array.isArray(evs[0].output) ? (evs[0] as typeof completed) : undefined;
  const response = completed ?? whole;
  const items = (response?.output ??
    evs.filter((e) => e.type === 'response.output_item.done').map((e) => e.item)) as Array<
    Record<string, unknown>
  >;
  const usage = response?.usage && {
    input: response.usage.input_tokens ?? 0,
    output: response.usage.output_tokens ?? 0,
  };
  const actions = items.filter((i) => i && i.type !== 'reasoning');
  const first = actions[0];
  if (!first) return undefined;
  const note =
    actions.length > 1 ? `${actions.length} outputs in one response; only the first is replayed` : undefined;
  const recorded = responsesItem(first, cwd);
  return recorded && { ...recorded, usage, note: recorded.note ?? note };
}

function responsesItem(item: Record<string, unknown>, cwd: string | undefined): Recorded | undefined {
  if (item.type === 'message') {
    const content = Array.isArray(item.content) ? (item.content as Array<{ text?: string }>) : [];
    return { reply: textReply(content.map((c) => c.text ?? '').join('')) };
  }
  if (item.type === 'local_shell_call') {
    const command = (item.action as { command?: string[] } | undefined)?.command ?? [];
    return { reply: { shell: shellOf(command) } };
  }
  const name = String(item.name ?? '');
  const raw = typeof item.input === 'string' ? item.input : String(item.arguments ?? '');
  if (name === 'apply_patch') {
    let patch = raw;
    try {
      const args = JSON.parse(raw) as { input?: string; patch?: string };
      patch = args.input ?? args.patch ?? raw;
    } catch {
      // a custom tool call carries the patch itself
    }
    return patchReply(patch, cwd);
  }
  let args: Record<string, unknown> = {};
  try {
    args = JSON.parse(raw);
  } catch {
    return {
      reply: { shell: 'true' },
      note: `tool ${name} with unreadable arguments is replayed as a no-op`,
    };
  }
  const command = args.cmd ?? args.command;
  if (typeof command === 'string') return { reply: { shell: command } };
  if (Array.isArray(command)) return { reply: { shell: shellOf(command.map(String)) } };
  return { reply: { shell: 'true' }, note: `tool ${name} is not replayable; replayed as a no-op` };
}

/** `bash -lc "x"` → `x`; other argv joined with quoting. */
function shellOf(argv: string[]): string {
  if (argv.length === 3 && /(^|\/)(ba)?sh$/.test(argv[0]) && /^-l?c$/.test(argv[1])) return argv[2];
  return argv.map((a) => (/^[\w./=-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * An apply_patch patch as replies: one file added or updated becomes a `write` of its whole new content
 * (an update is applied to the file as it is now, before the harness applies it); several files, a
 * deletion or a move become one shell command that writes them.
 */
function patchReply(patch: string, cwd: string | undefined): Recorded {
  const files: Array<{ path: string; content?: string }> = [];
  const lines = patch.split('\n');
  let i = 0;
  let note: string | undefined;
  while (i < lines.length) {
    const line = lines[i];
    const add = /^\*\*\* Add File: (.+)$/.exec(line);
    const update = /^\*\*\* Update File: (.+)$/.exec(line);
    const del = /^\*\*\* Delete File: (.+)$/.exec(line);
    i++;
    if (add) {
      const body: string[] = [];
      while (i < lines.length && !lines[i].startsWith('*** ')) body.push(lines[i++].replace(/^\+/, ''));
      files.push({ path: relative(add[1].trim(), cwd), content: `${body.join('\n')}\n` });
    } else if (update) {
      const file = update[1].trim();
      let moveTo: string | undefined;
      const hunk: string[] = [];
      while (i < lines.length && !/^\*\*\* (Add|Update|Delete) File: |^\*\*\* End Patch/.test(lines[i])) {
        const move = /^\*\*\* Move to: (.+)$/.exec(lines[i]);
        if (move) moveTo = move[1].trim();
        else hunk.push(lines[i]);
        i++;
      }
      const absolute = path.isAbsolute(file) || !cwd ? file : path.join(cwd, file);
      const applied = applyHunks(readOrEmpty(absolute), hunk);
      if (applied === undefined) note = `the patch of ${file} did not apply to the file as recorded`;
      if (moveTo) files.push({ path: relative(file, cwd) });
      files.push({ path: relative(moveTo ?? file, cwd), content: applied ?? readOrEmpty(absolute) });
    } else if (del) {
      files.push({ path: relative(del[1].trim(), cwd) });
    }
  }
  if (files.length === 1 && files[0].content !== undefined)
    return { reply: { write: { path: files[0].path, content: files[0].content } }, note };
  const shell = files
    .map((f) => {
      const quoted = `'${f.path.replace(/'/g, `'\\''`)}'`;
      if (f.content === undefined) return `rm -f ${quoted}`;
      let marker = 'SOP_RECORDED_FILE';
      while (f.content.includes(marker)) marker += '_';
      return `mkdir -p "$(dirname ${quoted})" && cat > ${quoted} <<'${marker}'\n${f.content}${f.content.endsWith('\n') ? '' : '\n'}${marker}`;
    })
    .join('\n'); // a here-document ends on its own line: one command per line
  return { reply: { shell: shell || 'true' }, note };
}

/** Applies apply_patch hunks (`@@` sections of ' ', '-', '+' lines) to `text`; undefined when one does not fit. */
function applyHunks(text: string, hunk: string[]): string | undefined {
  const had = text.endsWith('\n');
  let lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  let cursor = 0;
  const sections: string[][] = [];
  for (const line of hunk) {
    if (line.startsWith('@@')) sections.push([]);
    else if (line === '*** End of File') continue;
    else {
      if (sections.length === 0) sections.push([]);
      sections[sections.length - 1].push(line);
    }
  }
  for (const section of sections) {
    const old = section.filter((l) => !l.startsWith('+')).map((l) => l.slice(1));
    const next = section.filter((l) => !l.startsWith('-')).map((l) => l.slice(1));
    if (old.length === 0) {
      lines = [...lines, ...next];
      continue;
    }
    let at = -1;
    for (let k = cursor; k + old.length <= lines.length; k++) {
      if (old.every((l, j) => lines[k + j] === l)) {
        at = k;
        break;
      }
    }
    if (at < 0) return undefined;
    lines = [...lines.slice(0, at), ...next, ...lines.slice(at + old.length)];
    cursor = at + next.length;
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}${had || text === '' ? '\n' : ''}`;
}

// ---- Anthropic Messages (Claude Code) ----------------------------------------------------------------

interface Block {
  type: string;
  text?: string;
  name?: string;
  input?: Record<string, unknown>;
  json?: string;
}

/** The reply a Messages API answer gave (its first tool use, else its text). */
export function messagesReply(body: string, cwd: string | undefined): Recorded | undefined {
  const evs = events(body);
  const blocks: Block[] = [];
  let usage: { input: number; output: number } | undefined;
  for (const e of evs) {
    if (e.type === 'message' && Array.isArray(e.content)) {
      blocks.push(...(e.content as Block[]));
      const u = e.usage as { input_tokens?: number; output_tokens?: number } | undefined;
      if (u) usage = { input: u.input_tokens ?? 0, output: u.output_tokens ?? 0 };
    }
    if (e.type === 'message_start') {
      const u = (e.message as { usage?: { input_tokens?: number } }).usage;
      usage = { input: u?.input_tokens ?? 0, output: usage?.output ?? 0 };
    }
    if (e.type === 'message_delta') {
      const u = e.usage as { output_tokens?: number } | undefined;
      if (u?.output_tokens !== undefined) usage = { input: usage?.input ?? 0, output: u.output_tokens };
    }
    if (e.type === 'content_block_start') blocks[e.index as number] = { ...(e.content_block as Block) };
    if (e.type === 'content_block_delta') {
      const block = blocks[e.index as number];
      const delta = e.delta as { type: string; text?: string; partial_json?: string };
      if (block && delta.type === 'text_delta') block.text = (block.text ?? '') + (delta.text ?? '');
      if (block && delta.type === 'input_json_delta')
        block.json = (block.json ?? '') + (delta.partial_json ?? '');
    }
  }
  for (const block of blocks) {
    if (block?.json !== undefined) {
      try {
        block.input = JSON.parse(block.json || '{}');
      } catch {
        block.input = {};
      }
    }
  }
  const tools = blocks.filter((b) => b?.type === 'tool_use');
  if (tools.length > 0) {
    const recorded = toolUseReply(tools[0], cwd);
    const note =
      recorded.note ??
      (tools.length > 1
        ? `${tools.length} tool calls in one response; only the first is replayed`
        : undefined);
    return { ...recorded, usage, note };
  }
  const text = blocks
    .filter((b) => b?.type === 'text')
    .map((b) => b.text ?? '')
    .join('');
  return blocks.some((b) => b?.type === 'text') ? { reply: textReply(text), usage } : undefined;
}

function toolUseReply(block: Block, cwd: string | undefined): Recorded {
  const input = block.input ?? {};
  const file = typeof input.file_path === 'string' ? input.file_path : undefined;
  switch (block.name) {
    case 'Bash':
      return { reply: { shell: String(input.command ?? 'true') } };
    case 'Read':
      return { reply: { read: relative(file ?? '', cwd) } };
    case 'Write':
      return { reply: { write: { path: relative(file ?? '', cwd), content: String(input.content ?? '') } } };
    case 'Edit':
    case 'MultiEdit': {
      const absolute = file && (path.isAbsolute(file) || !cwd ? file : path.join(cwd, file));
      let content = absolute ? readOrEmpty(absolute) : '';
      const edits = (block.name === 'Edit' ? [input] : ((input.edits as unknown[]) ?? [])) as Array<{
        old_string?: string;
        new_string?: string;
        replace_all?: boolean;
      }>;
      for (const edit of edits) {
        const from = edit.old_string ?? '';
        const to = edit.new_string ?? '';
        content = edit.replace_all ? content.split(from).join(to) : content.replace(from, () => to);
      }
      return { reply: { write: { path: relative(file ?? '', cwd), content } } };
    }
    case 'StructuredOutput':
      return { reply: { final: input } };
    case 'Glob':
      return { reply: { shell: `find . -path ${JSON.stringify(`./${String(input.pattern ?? '*')}`)}` } };
    case 'Grep':
      return {
        reply: {
          shell: `grep -rn -- ${JSON.stringify(String(input.pattern ?? ''))} ${JSON.stringify(String(input.path ?? '.'))}`,
        },
      };
    default:
      return { reply: { shell: 'true' }, note: `tool ${block.name} is not replayable; replayed as a no-op` };
  }
}
