// YAML with positions: the compiler reports every problem at the line and column of the key or value
// it is about, so the parsed document is kept next to the plain data.

import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from 'yaml';
import { type Diagnostic, diagnostic, formatDiagnostic } from '../shapes/diagnostics';
import { YAML_LIMITS } from '../shapes/yaml-limits';

export type KeyPath = ReadonlyArray<string | number>;

interface Position {
  line: number;
  column: number;
}

export interface SourceFile {
  file: string;
  data: unknown;
  /** position of the value at `path` (or of its key with `key: true`); the nearest existing parent otherwise */
  locate(path: KeyPath, options?: { key?: boolean }): Position;
}

export function parseYamlSource(
  text: string,
  file: string,
): { source: SourceFile; diagnostics: Diagnostic[] } {
  const tooLarge = sizeProblem(text, file);
  if (tooLarge)
    return {
      source: { file, data: undefined, locate: () => tooLarge.position },
      diagnostics: [tooLarge.diagnostic],
    };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const toPosition = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const diagnostics: Diagnostic[] = doc.errors.map((error) => {
    const position = toPosition(error.pos[0]);
    if (error.code === 'RESOURCE_EXHAUSTION') {
      // the parser ran out of stack: nesting far beyond the limit
      return diagnostic('SOP005', `nested too deeply to parse (${firstLine(error.message)})`, {
        file,
        ...position,
      });
    }
    const duplicate = error.code === 'DUPLICATE_KEY';
    return diagnostic(duplicate ? 'SOP201' : 'SOP001', firstLine(error.message), { file, ...position });
  });
  if (diagnostics.length === 0) {
    const problem = shapeProblem(doc);
    if (problem)
      diagnostics.push(diagnostic(problem.code, problem.message, { file, ...toPosition(problem.offset) }));
  }

  const locate = (path: KeyPath, options: { key?: boolean } = {}): Position => {
    let node: unknown = doc.contents;
    let best: Position =
      node && (node as Node).range ? toPosition((node as Node).range![0]) : { line: 1, column: 1 };
    for (let i = 0; i < path.length; i++) {
      const segment = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
        );
        if (!pair) return best;
        const keyNode = pair.key as Node;
        if (keyNode.range) best = toPosition(keyNode.range[0]);
        if (last && options.key) return best;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
      } else {
        return best;
      }
      const range = (node as Node | null)?.range;
      if (range) best = toPosition(range[0]);
    }
    return best;
  };

  // shapeProblem has bounded what aliases expand to, which is what yaml's own alias count guards against
  const data = diagnostics.length > 0 ? undefined : doc.toJS({ maxAliasCount: -1 });
  return { source: { file, data, locate }, diagnostics };
}

/** A YAML (or JSON) file the runtime reads besides an SOP — run inputs, model-server scenarios, price tables. */
class YamlFileError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'YamlFileError';
  }
}

/**
 * The data of a YAML or JSON text, held to the SOP loader's rules: a syntax error, a duplicate key, an alias
 * bomb, nesting too deep or a file too large is a coded diagnostic at its line and column (YamlFileError).
 */
export function parseYamlText(text: string, file: string): unknown {
  const { source, diagnostics } = parseYamlSource(text, file);
  if (diagnostics.length > 0) throw new YamlFileError(diagnostics);
  return source.data;
}

/** A source for definitions that did not come from YAML (defineSop): paths instead of positions. */
export function objectSource(data: unknown, file: string): SourceFile {
  return { file, data, locate: () => ({ line: 0, column: 0 }) };
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}

/** A file over the size limit, located where the limit is passed; it is not parsed at all. */
function sizeProblem(text: string, file: string): { diagnostic: Diagnostic; position: Position } | undefined {
  const bytes = Buffer.byteLength(text);
  if (bytes <= YAML_LIMITS.bytes) return undefined;
  const head = Buffer.from(text).subarray(0, YAML_LIMITS.bytes).toString();
  const position = { line: head.split('\n').length, column: head.length - head.lastIndexOf('\n') };
  const message = `the file has ${bytes} bytes; the limit of ${YAML_LIMITS.bytes} bytes is passed on this line`;
  return { diagnostic: diagnostic('SOP006', message, { file, ...position }), position };
}

/**
 * Nesting deeper than the limit, or aliases that would expand the document past its limit (an alias
 * bomb) or into itself. One iterative pass in document order: an alias can only name an anchor defined
 * before it, so its target's expanded size is known (or the target is still open: the alias is inside it).
 */
function shapeProblem(
  doc: Document,
): { code: 'SOP004' | 'SOP005'; message: string; offset: number } | undefined {
  const anchors = new Map<string, unknown>();
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  let aliasValues = 0;
  const offsetOf = (node: unknown) => (node as Node).range?.[0] ?? 0;
  const stack: Array<{ node: unknown; depth: number; done?: boolean }> = [{ node: doc.contents, depth: 1 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { node, depth } = frame;
    if (frame.done) {
      let size = 1;
      for (const child of childrenOf(node)) size += sizes.get(child) ?? 1;
      sizes.set(node, size);
      open.delete(node);
      continue;
    }
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) continue; // yaml reports an unknown alias itself
      if (open.has(target)) {
        return {
          code: 'SOP004',
          message: `alias *${node.source} refers to a value that contains it`,
          offset: offsetOf(node),
        };
      }
      const size = sizes.get(target) ?? 1;
      sizes.set(node, size);
      aliasValues += size;
      if (aliasValues > YAML_LIMITS.aliasValues) {
        return {
          code: 'SOP004',
          message: `alias *${node.source} expands to ${size} values; with the aliases before it the file expands to more than ${YAML_LIMITS.aliasValues}`,
          offset: offsetOf(node),
        };
      }
      continue;
    }
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.set(anchor, node);
    if (!isCollection(node)) {
      sizes.set(node, 1);
      continue;
    }
    if (depth > YAML_LIMITS.depth) {
      return {
        code: 'SOP005',
        message: `this value is nested ${depth} levels deep; the limit is ${YAML_LIMITS.depth}`,
        offset: offsetOf(node),
      };
    }
    open.add(node);
    stack.push({ node, depth, done: true });
    const children = childrenOf(node);
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i], depth: depth + 1 });
  }
  return undefined;
}

function childrenOf(node: unknown): unknown[] {
  if (!isCollection(node)) return [];
  return node.items.flatMap((item) =>
    isPair(item) ? [item.key, item.value].filter((n) => n !== null && n !== undefined) : [item],
  );
}
