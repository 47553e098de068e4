import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { DIAGNOSTIC_CODES } from '../../src/shapes/diagnostics';
import {
  anchors,
  docPages,
  readPage,
  relativeLinks,
  root,
  type ShownCommand,
  shellLines,
  shellWords,
  shownCommands,
} from './markdown';

// Every command the README and docs/ show must still work: a `sop` command names commands and options the
// CLI defines (checked against the built CLI, `npm run build`), an npm script exists, a script or file a
// command runs exists, and a link points at a page and a heading that exist.

interface CommandNode {
  name: string;
  aliases: string[];
  options: string[];
  args: number;
  commands: CommandNode[];
}

const TREE = `
const { buildProgram } = require('./dist/cli/main');
const walk = (c) => ({
  name: c.name(),
  aliases: c.aliases(),
  options: c.options.flatMap((o) => [o.long, o.short].filter(Boolean)),
  args: c.registeredArguments.length,
  commands: c.commands.map(walk),
});
process.stdout.write(JSON.stringify(walk(buildProgram())));
`;

let tree: CommandNode;
beforeAll(async () => {
  tree = JSON.parse((await execa('node', ['-e', TREE], { cwd: root })).stdout) as CommandNode;
});

const clean = (word: string) => word.replace(/^\[+|\]+$/g, '');

/** What is wrong with a command as a page shows it, or undefined. */
function problem(command: ShownCommand): string | undefined {
  let nodes = [tree];
  let i = 0;
  for (; i < command.words.length; i++) {
    const word = clean(command.words[i]);
    if (word.startsWith('-') || word === '...' || word === '|') break;
    const alternatives = command.inline ? word.split('|') : [word];
    const subs = nodes.flatMap((n) =>
      alternatives.map((a) => n.commands.find((c) => c.name === a || c.aliases.includes(a))),
    );
    if (subs.every(Boolean)) {
      nodes = subs as CommandNode[];
      continue;
    }
    const node = nodes[0];
    if (node === tree) return `"sop ${command.words.join(' ')}" names no command`;
    if (node.commands.length > 0 && node.args === 0)
      return `sop ${command.words.slice(0, i).join(' ')} has no command "${word}"`;
    break;
  }
  if (nodes[0] === tree) return `"sop ${command.words.join(' ')}" names no command`;
  const known = new Set([...nodes.flatMap((n) => n.options), '-h', '--help']);
  for (const raw of command.words.slice(i)) {
    const word = clean(raw);
    if (!/^--?[A-Za-z]/.test(word)) continue;
    const flag = word.split('=')[0];
    if (!known.has(flag))
      return `sop ${nodes.map((n) => n.name).join('|')} has no option ${flag} (it has ${[...known].join(', ')})`;
  }
  return undefined;
}

test('every sop command the README and docs/ show names a command and options the CLI has', () => {
  const commands = docPages().flatMap(shownCommands);
  // the pages show a lot of them: a parser that found none would check nothing
  expect(commands.length).toBeGreaterThan(150);
  const problems = commands.flatMap((c) => {
    const p = problem(c);
    return p ? [`${c.page}:${c.line}: ${c.text}\n  ${p}`] : [];
  });
  expect(problems).toEqual([]);
});

/**
 * The strings of a TypeScript source (quoted and template literals; comments and code left out), a
 * template's `${…}` as U+2063: enough of a lexer for the sources of this package.
 */
function stringsOf(source: string): string[] {
  const strings: string[] = [];
  const template = (from: number): number => {
    let text = '';
    let i = from;
    while (i < source.length && source[i] !== '`') {
      if (source[i] === '\\') text += source[++i] ?? '';
      else if (source[i] === '$' && source[i + 1] === '{') {
        text += '\u2063';
        i = code(i + 2, '}');
        continue;
      } else text += source[i];
      i++;
    }
    strings.push(text);
    return i + 1;
  };
  // code up to the closing `end` (or the end of the source); returns the index after it
  const code = (from: number, end?: string): number => {
    let depth = 0;
    let i = from;
    while (i < source.length) {
      const c = source[i];
      if (c === '/' && source[i + 1] === '/')
        i = source.indexOf('\n', i) < 0 ? source.length : source.indexOf('\n', i);
      else if (c === '/' && source[i + 1] === '*') i = source.indexOf('*/', i + 2) + 2;
      else if (c === "'" || c === '"') {
        let text = '';
        for (i++; i < source.length && source[i] !== c && source[i] !== '\n'; i++)
          text += source[i] === '\\' ? source[++i] : source[i];
        strings.push(text);
        i++;
      } else if (c === '`') i = template(i + 1);
      else if (c === '}' && end === '}' && depth === 0) return i + 1;
      else {
        if (c === '{') depth++;
        if (c === '}') depth--;
        i++;
      }
    }
    return i;
  };
  code(0);
  return strings;
}

/** The backticked `sop …` in the strings of the code (hints and messages the CLI prints). */
function sourceCommands(dir: string): Array<{ where: string; text: string; words: string[] }> {
  const out: Array<{ where: string; text: string; words: string[] }> = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = path.join(entry.parentPath, entry.name);
    for (const text of stringsOf(fs.readFileSync(file, 'utf8')))
      for (const m of text.matchAll(/`(sop [^`]*)`/g)) {
        // what a ${…} fills in is not known: the words before it are checked
        const words = shellWords(m[1].replace(/\|--/g, ' --')).slice(1);
        const filled = words.findIndex((w) => w.includes('\u2063'));
        out.push({
          where: path.relative(root, file),
          text: m[1].replace(/\u2063/g, '…'),
          words: filled < 0 ? words : words.slice(0, filled),
        });
      }
  }
  return out.filter((c) => c.words.length > 0);
}

test('every sop command a diagnostic hint or a CLI message names is a command of the CLI', () => {
  const named = [
    ...Object.entries(DIAGNOSTIC_CODES).flatMap(([code, d]) =>
      [...d.hint.matchAll(/`(sop [^`]*)`/g)].map((m) => ({
        where: `${code} hint`,
        text: m[1],
        words: shellWords(m[1]).slice(1),
      })),
    ),
    ...sourceCommands(path.join(root, 'src')),
  ];
  expect(named.length).toBeGreaterThan(30);
  expect(named.some((n) => n.where.endsWith(' hint'))).toBe(true);
  const problems = named.flatMap(({ where, text, words }) => {
    const p = problem({
      page: where,
      line: 0,
      text,
      cwd: '',
      words,
      inline: true,
    });
    return p ? [`${where}: \`${text}\`: ${p}`] : [];
  });
  expect([...new Set(problems)]).toEqual([]);
});

test('the command check refuses a command or an option the CLI does not have', () => {
  const shown = (text: string, inline = true): ShownCommand => ({
    page: 'x.md',
    line: 1,
    text,
    cwd: '',
    words: text.split(' ').slice(1),
    inline,
  });
  expect(problem(shown('sop runs show bugfix t1 --json'))).toBeUndefined();
  expect(problem(shown('sop temporal start|stop|status'))).toBeUndefined();
  expect(problem(shown('sop list'))).toMatch(/names no command/);
  expect(problem(shown('sop runs shw bugfix t1'))).toMatch(/has no command "shw"/);
  expect(problem(shown('sop run bugfix --workspce .'))).toMatch(/has no option --workspce/);
});

test('every npm script, script file and program file the pages run exists', () => {
  const { scripts } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const missing: string[] = [];
  const inline = docPages().flatMap((page) =>
    [...readPage(page).matchAll(/`([^`\n]+)`/g)].map((m) => ({ page, line: m[1], cwd: '' })),
  );
  const blocks = docPages().flatMap((page) => shellLines(page).map((l) => ({ page, ...l })));
  for (const { page, line, cwd } of [...blocks, ...inline]) {
    for (const m of line.matchAll(/(?:^|[\s;&(])npm run (?:--silent )?([\w:-]+)/g))
      if (!scripts[m[1]]) missing.push(`${page}: npm run ${m[1]}: no such script`);
    for (const m of line.matchAll(/(?:^|[\s;&(])(?:bash|node) (\S+\.(?:sh|js|mjs)|\.ci\/run)\b/g)) {
      // inline code without a folder (`node start-run.mjs`) says where it runs in the text around it
      if (!blocks.some((b) => b.line === line) && !m[1].includes('/')) continue;
      if (!fs.existsSync(path.join(root, cwd, m[1])))
        missing.push(`${page}: ${m[1]}: no such file (in ${cwd || '.'})`);
    }
  }
  expect(missing).toEqual([]);
});

test('every relative link of the README and docs/ points at a file, and a heading of it that exists', () => {
  const broken: string[] = [];
  for (const page of docPages()) {
    for (const link of relativeLinks(page)) {
      if (!fs.existsSync(path.join(root, link.target))) broken.push(`${page}: ${link.target} does not exist`);
      else if (link.anchor && link.target.endsWith('.md') && !anchors(link.target).has(link.anchor))
        broken.push(`${page}: ${link.target} has no heading #${link.anchor}`);
    }
  }
  expect(broken).toEqual([]);
});

test('the README links every page of docs/ and stays short', () => {
  const readme = readPage('README.md');
  for (const page of docPages().filter((p) => p.startsWith('docs/'))) expect(readme).toContain(`](${page})`);
  expect(readme.split('\n').length).toBeLessThanOrEqual(250);
});
