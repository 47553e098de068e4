// Where SOPs come from, in order of precedence (the first folder with a name wins): the run's workspace's
// .sop/sops/ (overrides, per repository), the catalog root's sops/ (the project: `-C DIR`, or the
// directory `sop worker` runs in), and the SOPs shipped inside this package. A worker resolves every run
// from this catalog (`sop worker` prints it at start; docs/concepts.md, "The worker's catalog"). Listing
// only reads sop.yaml headers; an SOP is compiled when it is used or validated.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import type { Diagnostic } from '../shapes/diagnostics';
import { YAML_LIMITS } from '../shapes/yaml-limits';
import { packageRoot } from '../temporal/package-paths';
import { type CompileResult, compileSopDir, loadProjectConfig, SOP_FILE } from './compile';

type CatalogSource = 'workspace' | 'project' | 'package';

export interface CatalogEntry {
  name: string;
  title?: string;
  description?: string;
  version?: string;
  aliases: string[];
  source: CatalogSource;
  dir: string;
  /** entries of lower precedence with the same name */
  shadows: string[];
}

export interface CatalogOptions {
  /** the project root: where sops/ and sop.config.yaml live (default: the current directory) */
  projectDir?: string;
  /** the workspace the run works in; its .sop/sops/ overrides (default: projectDir) */
  workspace?: string;
}

export class Catalog {
  readonly projectDir: string;
  readonly entries: CatalogEntry[];
  private readonly configCache: ReturnType<typeof loadProjectConfig>;

  constructor(options: CatalogOptions = {}) {
    this.projectDir = path.resolve(options.projectDir ?? process.cwd());
    const byName = new Map<string, CatalogEntry>();
    const seenDirs = new Set<string>();
    for (const [source, root] of catalogRoots(this.projectDir, options.workspace ?? this.projectDir)) {
      for (const dir of sopDirs(root)) {
        const real = fs.realpathSync(dir);
        if (seenDirs.has(real)) continue; // the project may be this package
        seenDirs.add(real);
        const header = readHeader(dir);
        const existing = byName.get(header.name);
        if (existing) {
          existing.shadows.push(dir);
          continue;
        }
        byName.set(header.name, { ...header, source, dir, shadows: [] });
      }
    }
    this.entries = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
    this.configCache = loadProjectConfig(this.projectDir);
  }

  /** by name or alias */
  find(nameOrAlias: string): CatalogEntry | undefined {
    return (
      this.entries.find((e) => e.name === nameOrAlias) ??
      this.entries.find((e) => e.aliases.includes(nameOrAlias))
    );
  }

  names(): string[] {
    return this.entries.flatMap((e) => [e.name, ...e.aliases]);
  }

  get configDiagnostics(): Diagnostic[] {
    return this.configCache.diagnostics;
  }

  compile(entry: CatalogEntry): CompileResult {
    if (this.configCache.diagnostics.length > 0) return { diagnostics: this.configCache.diagnostics };
    return compileSopDir(entry.dir, { config: this.configCache.config, projectDir: this.projectDir });
  }

  /** Compiles a folder that need not be in the catalog, with the project config. */
  compileDir(dir: string): CompileResult {
    if (this.configCache.diagnostics.length > 0) return { diagnostics: this.configCache.diagnostics };
    return compileSopDir(dir, { config: this.configCache.config, projectDir: this.projectDir });
  }
}

/** The catalog's folders, highest precedence first: the one statement of where SOPs come from. */
function catalogRoots(projectDir: string, workspace: string): Array<[CatalogSource, string]> {
  return [
    ['workspace', path.join(path.resolve(workspace), '.sop', 'sops')],
    ['project', path.join(path.resolve(projectDir), 'sops')],
    ['package', path.join(packageRoot, 'sops')],
  ];
}

/** A worker's catalog, one line per folder with the SOPs in it, as `sop worker` prints it at start. */
export function describeCatalog(projectDir: string): string[] {
  const [, project, shipped] = catalogRoots(projectDir, projectDir).map(([, root]) => root);
  const listed = (root: string) =>
    sopDirs(root)
      .map((dir) => readHeader(dir).name)
      .join(', ') || 'none';
  return [
    'catalog (the first folder that has a name wins; alter it with -C DIR, the catalog root):',
    `  1. <each run's repository>/.sop/sops/`,
    `  2. ${project}/: ${listed(project)}`,
    `  3. ${shipped}/ (shipped): ${listed(shipped)}`,
  ];
}

function sopDirs(root: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names
    .sort()
    .map((name) => path.join(root, name))
    .filter((dir) => fs.existsSync(path.join(dir, SOP_FILE)));
}

/** name/title/aliases without a full compile; a broken file still shows up (under its folder name). */
function readHeader(dir: string): Omit<CatalogEntry, 'source' | 'dir' | 'shadows'> {
  const fallback = { name: path.basename(dir), aliases: [] };
  try {
    const file = path.join(dir, SOP_FILE);
    // an oversized file is reported when it is compiled; listing must not parse it
    if (fs.statSync(file).size > YAML_LIMITS.bytes) return fallback;
    const data = parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> | null;
    if (!data || typeof data !== 'object') return fallback;
    return {
      name: typeof data.name === 'string' ? data.name : fallback.name,
      title: typeof data.title === 'string' ? data.title : undefined,
      description: typeof data.description === 'string' ? data.description : undefined,
      version: data.version === undefined ? undefined : String(data.version),
      aliases: Array.isArray(data.aliases)
        ? data.aliases.filter((a): a is string => typeof a === 'string')
        : [],
    };
  } catch {
    return fallback;
  }
}
