// What the documentation tests read from the Markdown pages: the commands they show (in code blocks and
// inline code), their links and their headings.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const root = path.join(__dirname, '..', '..');

/** Every page of the documentation, relative to the repository root. */
export function docPages(): string[] {
  const docs = fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs, 'bench/README.md'];
}

export function readPage(page: string): string {
  return fs.readFileSync(path.join(root, page), 'utf8');
}

export interface CodeBlock {
  lang: string;
  body: string;
  line: number;
}

export function codeBlocks(text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const pattern = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (const m of text.matchAll(pattern))
    blocks.push({ lang: m[1], body: m[2], line: text.slice(0, m.index).split('\n').length });
  return blocks;
}

/** The text outside code blocks. */
function prose(text: string): string {
  return text.replace(/^```\w*\n[\s\S]*?^```$/gm, '');
}

/** A command as a page shows it: where, and the words after `sop` (or `node .../bin/sop.js`). */
export interface ShownCommand {
  page: string;
  line: number;
  /** the whole command as written */
  text: string;
  /** the directory it runs in (a `cd` earlier in the same block), relative to the repository root */
  cwd: string;
  words: string[];
  /** inline code and tables write alternatives as `a|b`; a shell block's `|` is a pipe */
  inline: boolean;
}

/** Splits like a shell: quotes group, backslash-newline continues. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"((?:\\.|[^"\\])*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

const SOP_START = /(?:^|[\s;&(])(?:(?:node\s+)?(?:\S*\/)?bin\/sop\.js|sop)\s+(?=[a-z-])/g;

function commandsIn(segment: string, inline: boolean): string[] {
  const found: string[] = [];
  const starts = [...segment.matchAll(SOP_START)].map((m) => (m.index ?? 0) + m[0].length);
  for (const start of starts) {
    let rest = segment.slice(start);
    // a shell block ends the command at a pipe, a list separator or a comment; inline code at its end
    if (!inline) rest = rest.split(/\s(?:\|\||\||&&|;|&|#)(?:\s|$)|\)\s*$/)[0];
    found.push(rest.trim());
  }
  return found;
}

/** Every `sop` command a page shows, in shell blocks and in inline code. */
export function shownCommands(page: string): ShownCommand[] {
  const text = readPage(page);
  const out: ShownCommand[] = [];
  for (const block of codeBlocks(text)) {
    if (!['', 'sh', 'bash', 'shell'].includes(block.lang)) continue;
    let cwd = '';
    const lines = block.body.replace(/\\\n\s*/g, ' ').split('\n');
    lines.forEach((raw, i) => {
      const line = raw.replace(/^\$ /, '').replace(/(^|\s)#\s.*$/, '');
      const cd = /^cd\s+(\S+)/.exec(line);
      if (cd) cwd = path.normalize(path.join(cwd, cd[1]));
      for (const command of commandsIn(line, false))
        out.push({
          page,
          line: block.line + 1 + i,
          text: line,
          cwd,
          words: shellWords(command),
          inline: false,
        });
    });
  }
  const body = prose(text);
  for (const m of body.matchAll(/`([^`\n]+)`/g)) {
    // inline code that starts with the command (after variable settings); `call · sop build` is output
    const span = m[1].replace(/\\\|/g, '|');
    if (!/^(?:[A-Z_]+=\S*\s+)*(?:node\s+\S*bin\/sop\.js|sop)\s/.test(span)) continue;
    for (const command of commandsIn(span, true))
      out.push({
        page,
        line: body.slice(0, m.index).split('\n').length,
        text: span,
        cwd: '',
        words: shellWords(command),
        inline: true,
      });
  }
  return out;
}

/** Other commands a shell block runs: `npm run X`, `node FILE`, `bash FILE`. */
export function shellLines(page: string): { line: string; cwd: string }[] {
  const out: { line: string; cwd: string }[] = [];
  for (const block of codeBlocks(readPage(page))) {
    if (!['sh', 'bash', 'shell'].includes(block.lang)) continue;
    let cwd = '';
    for (const raw of block.body.replace(/\\\n\s*/g, ' ').split('\n')) {
      const line = raw.replace(/\s+#\s.*$/, '').trim();
      const cd = /^cd\s+(\S+)/.exec(line);
      if (cd) cwd = path.normalize(path.join(cwd, cd[1]));
      if (line) out.push({ line, cwd });
    }
  }
  return out;
}

/** GitHub's anchor of a heading. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings (a repeated heading gets -1, -2, ...). */
export function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(readPage(page)).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The relative links of a page (not http, not mailto). */
export function relativeLinks(page: string): { target: string; anchor?: string }[] {
  const out: { target: string; anchor?: string }[] = [];
  for (const m of prose(readPage(page)).matchAll(/\]\(([^)\s]+)\)/g)) {
    const link = m[1];
    if (/^[a-z]+:/.test(link)) continue;
    const [target, anchor] = link.split('#');
    out.push({ target: target ? path.normalize(path.join(path.dirname(page), target)) : page, anchor });
  }
  return out;
}
