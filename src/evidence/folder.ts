import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256 } from './hashes';

/** Every regular file under `root`, relative with `/` separators, in a stable order. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out;
}

export function hashFiles(root: string): Map<string, { sha256: string; size: number }> {
  const out = new Map<string, { sha256: string; size: number }>();
  for (const file of listFiles(root)) {
    const content = fs.readFileSync(path.join(root, file));
    out.set(file, { sha256: sha256(content), size: content.length });
  }
  return out;
}

/** Evidence records in execution order (their folder names start with the zero-padded execution number). */
export function evidenceRecords(files: Iterable<string>): string[] {
  const executionOf = (file: string) =>
    Number(/\/(\d{4,})-[^/]+\/evidence\.json$/.exec(file)?.[1] ?? Number.MAX_SAFE_INTEGER);
  return [...files]
    .filter((f) => f.endsWith('/evidence.json'))
    .sort((a, b) => executionOf(a) - executionOf(b) || a.localeCompare(b));
}

export const readText = (root: string, file: string) => fs.readFileSync(path.join(root, file), 'utf8');
