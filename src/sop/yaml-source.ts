// YAML with positions: the compiler reports every problem at the line and column of the key or value
// it is about, so the parsed document is kept next to the plain data.

import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { type Diagnostic, diagnostic } from './diagnostics';

export type KeyPath = ReadonlyArray<string | number>;

export interface Position {
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
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const toPosition = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const diagnostics: Diagnostic[] = doc.errors.map((error) => {
    const position = toPosition(error.pos[0]);
    const duplicate = error.code === 'DUPLICATE_KEY';
    return diagnostic(duplicate ? 'SOP201' : 'SOP001', firstLine(error.message), { file, ...position });
  });

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

  const data = doc.errors.length > 0 ? undefined : doc.toJS({ maxAliasCount: 100 });
  return { source: { file, data, locate }, diagnostics };
}

/** A source for definitions that did not come from YAML (defineSop): paths instead of positions. */
export function objectSource(data: unknown, file: string): SourceFile {
  return { file, data, locate: () => ({ line: 0, column: 0 }) };
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}
