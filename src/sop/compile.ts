// The SOP compiler: sop.yaml (or a defineSop object) + prompt and schema files + the project config →
// an immutable, content-hashed bundle, or every problem found, each coded and located.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Diagnostic, diagnostic, SopCompileError } from '../shapes/diagnostics';
import { checkSop, type FileAccess } from './checks';
import { locateInProfiles, resolveProfiles } from './profiles';
import { ProjectConfig, SopFile } from './schema';
import { schemaDiagnostics } from './schema-diagnostics';
import { withSopDir } from './sop-dir';
import { SKILLS_FOLDER } from './toolbelt-checks';
import type { InputOf, TypedInput } from './typed';
import { objectSource, parseYamlSource, type SourceFile } from './yaml-source';

const BUNDLE_FORMAT = 1;

export interface SopBundle {
  format: typeof BUNDLE_FORMAT;
  name: string;
  title?: string;
  description?: string;
  version?: string;
  aliases: string[];
  /** sha256 of the canonical definition and every file it uses: same inputs, same hash */
  hash: string;
  /** the definition with the project config's defaults, policies and provider settings folded in */
  definition: SopFile;
  providers: ProjectConfig['providers'];
  /** the project's quota keys (sop.config.yaml `quotas:`), when it declares any */
  quotas?: ProjectConfig['quotas'];
  /** prompt and schema texts by SOP-relative path */
  files: Record<string, string>;
}

export interface CompileResult {
  bundle?: SopBundle;
  /** errors and warnings, in file order */
  diagnostics: Diagnostic[];
}

export const SOP_FILE = 'sop.yaml';
const CONFIG_FILE = 'sop.config.yaml';

export interface CompileOptions {
  /** the project config, already loaded (see loadProjectConfig) */
  config?: ProjectConfig;
  /** base for the file names in diagnostics (default: the current directory) */
  relativeTo?: string;
  /** the project root: a skill not beside sop.yaml is looked for in its skills/ folder */
  projectDir?: string;
}

/** Compiles the SOP in `dir` (a folder with sop.yaml). Never throws for bad input: problems are diagnostics. */
export function compileSopDir(dir: string, options: CompileOptions = {}): CompileResult {
  const display = (p: string) => displayPath(p, options.relativeTo);
  const file = path.join(dir, SOP_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {
      diagnostics: [diagnostic('SOP002', `${display(file)} does not exist`, { file: display(file) })],
    };
  }
  const { source, diagnostics } = parseYamlSource(text, display(file));
  if (diagnostics.length > 0) return { diagnostics };
  return compileSource(
    source,
    folderFiles(dir, display, options.projectDir),
    options.config,
    path.basename(dir),
    path.resolve(dir),
  );
}

export interface DefineSopOptions {
  /** folder the definition's prompt and schema paths are relative to */
  dir?: string;
  /** or the files themselves, by relative path */
  files?: Record<string, string>;
  config?: ProjectConfig;
}

/**
 * The TypeScript builder: the same definition as sop.yaml, as an object. Same definition and same files
 * give the same bundle (and hash) as the YAML folder. Throws SopCompileError with every problem.
 */
export function defineSop<const D>(
  definition: D,
  options: DefineSopOptions = {},
): SopBundle & TypedInput<InputOf<D>> {
  const name = (definition as { name?: unknown })?.name;
  const label = `defineSop(${typeof name === 'string' ? name : '?'})`;
  const files: FileAccess = options.files
    ? {
        display: (p) => `${label}:${p}`,
        read: (p) => (escapesFolder(p) ? { escapes: true } : options.files?.[p]),
        list: (folder) => {
          const prefix = `${folder}/`;
          const found = Object.entries(options.files ?? {}).filter(([p]) => p.startsWith(prefix));
          if (found.length === 0) return undefined;
          return Object.fromEntries(found.map(([p, text]) => [p.slice(prefix.length), Buffer.from(text)]));
        },
      }
    : folderFiles(options.dir ?? process.cwd(), (p) => displayPath(p));
  const result = compileSource(
    objectSource(definition, label),
    files,
    options.config,
    undefined,
    options.files ? undefined : path.resolve(options.dir ?? process.cwd()),
  );
  if (!result.bundle) throw new SopCompileError(result.diagnostics);
  return result.bundle;
}

function compileSource(
  source: SourceFile,
  files: FileAccess,
  config: ProjectConfig | undefined,
  folderName?: string,
  /** the SOP folder's absolute path, for `{{ sop.dir }}` (none for an SOP given as an object with files) */
  dir?: string,
): CompileResult {
  if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
    return {
      diagnostics: [
        diagnostic('SOP003', 'the SOP must be a mapping with name, steps, ...', {
          file: source.file,
          line: 1,
          column: 1,
        }),
      ],
    };
  }
  const parsed = SopFile.safeParse(source.data);
  if (!parsed.success)
    return { diagnostics: sortDiagnostics(schemaDiagnostics(SopFile, parsed.error.issues, source)) };
  const ownProfiles = new Set(Object.keys(parsed.data.agents ?? {}));
  const located = withSopDir(parsed.data, dir, source);
  const { sop: definition, moved } = resolveProfiles(withConfig(located.sop, config), ownProfiles);
  const checked = checkSop(definition, locateInProfiles(source, moved), files, folderName);
  const diagnostics = sortDiagnostics(
    uniqueDiagnostics([
      ...located.diagnostics,
      ...checked.diagnostics,
      ...quotaLabelDiagnostics(definition, config, source),
    ]),
  );
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  const bundleBody = {
    format: BUNDLE_FORMAT,
    definition,
    providers: config?.providers ?? {},
    // only when declared: the bundles (and hashes) of projects without quotas stay as they were
    ...(config?.quotas ? { quotas: config.quotas } : {}),
    files: sortKeys(checked.files),
  };
  // The hash is of the SOP as written: `{{ sop.dir }}` unfilled, so the same SOP in two folders (a client's
  // checkout and a worker's) has one hash. Plain JSON on purpose: key order is meaningful (the first step is
  // the entry), and it comes from the source, so the same files always give the same bytes.
  const written =
    dir === undefined ? definition : resolveProfiles(withConfig(parsed.data, config), ownProfiles).sop;
  const hash = createHash('sha256')
    .update(JSON.stringify({ ...bundleBody, definition: written }))
    .digest('hex');
  return {
    diagnostics,
    bundle: {
      format: BUNDLE_FORMAT,
      name: definition.name,
      title: definition.title,
      description: definition.description,
      version: definition.version === undefined ? undefined : String(definition.version),
      aliases: definition.aliases ?? [],
      hash,
      definition,
      providers: bundleBody.providers,
      ...(bundleBody.quotas ? { quotas: bundleBody.quotas } : {}),
      files: bundleBody.files,
    },
  };
}

/** A step's `quota:` must name a key sop.config.yaml declares under `quotas:`. */
function quotaLabelDiagnostics(
  sop: SopFile,
  config: ProjectConfig | undefined,
  source: SourceFile,
): Diagnostic[] {
  const declared = Object.keys(config?.quotas ?? {});
  return Object.entries(sop.steps)
    .filter(([, step]) => step.quota !== undefined && !declared.includes(step.quota))
    .map(([name, step]) => {
      const at = ['steps', name, 'quota'];
      return diagnostic(
        'SOP294',
        `step ${name}: quota "${step.quota}" is not declared${declared.length ? ` (declared: ${declared.join(', ')})` : ''}`,
        { file: source.file, ...source.locate(at), at: at.join('.') },
      );
    });
}

/**
 * The project's defaults, named policies, agent profiles and tool servers, under the SOP's own (the SOP wins
 * key by key).
 */
function withConfig(sop: SopFile, config: ProjectConfig | undefined): SopFile {
  if (!config) return sop;
  const policies = { ...(config.policies ?? {}), ...(sop.policies ?? {}) };
  const agents = { ...(config.agents ?? {}), ...(sop.agents ?? {}) };
  const defaults = { ...(config.defaults ?? {}), ...(sop.defaults ?? {}) };
  const servers = { ...(config.mcp_servers ?? {}), ...(sop.mcp_servers ?? {}) };
  const secrets = [...new Set([...(config.secrets ?? []), ...(sop.secrets ?? [])])];
  return {
    ...sop,
    ...(secrets.length > 0 ? { secrets } : {}),
    ...(Object.keys(servers).length > 0 ? { mcp_servers: servers } : {}),
    ...(Object.keys(defaults).length > 0 ? { defaults } : {}),
    ...(Object.keys(policies).length > 0 ? { policies } : {}),
    ...(Object.keys(agents).length > 0 ? { agents } : {}),
  };
}

export interface LoadedConfig {
  config?: ProjectConfig;
  diagnostics: Diagnostic[];
  file?: string;
}

/** Reads sop.config.yaml from `projectDir` if there is one. */
export function loadProjectConfig(projectDir: string, relativeTo?: string): LoadedConfig {
  const file = path.join(projectDir, CONFIG_FILE);
  if (!fs.existsSync(file)) return { diagnostics: [] };
  const shown = displayPath(file, relativeTo);
  const { source, diagnostics } = parseYamlSource(fs.readFileSync(file, 'utf8'), shown);
  if (diagnostics.length > 0) return { diagnostics, file };
  if (source.data === undefined || source.data === null) return { config: {}, diagnostics: [], file };
  const parsed = ProjectConfig.safeParse(source.data);
  if (!parsed.success)
    return { diagnostics: schemaDiagnostics(ProjectConfig, parsed.error.issues, source), file };
  return { config: parsed.data, diagnostics: [], file };
}

function folderFiles(dir: string, display: (p: string) => string, projectDir?: string): FileAccess {
  // skills: the SOP's own skills/ folder first, then the project's
  const skillRoots = [
    dir,
    ...(projectDir && path.resolve(projectDir) !== path.resolve(dir) ? [projectDir] : []),
  ];
  return {
    display: (relative) => display(path.join(dir, relative)),
    read: (relative) => {
      if (escapesFolder(relative)) return { escapes: true };
      try {
        return fs.readFileSync(path.join(dir, relative), 'utf8');
      } catch {
        return undefined;
      }
    },
    list: (relative) => {
      if (relative.split('/')[0] !== SKILLS_FOLDER) return listFolder(path.join(dir, relative));
      const found = skillRoots.map((root) => listFolder(path.join(root, relative)));
      // one skill: the first folder that has it; all skills: every root's, the SOP's winning
      if (relative !== SKILLS_FOLDER) return found.find((f) => f !== undefined);
      return found.some((f) => f) ? Object.assign({}, ...found.reverse().map((f) => f ?? {})) : undefined;
    },
  };
}

/** The files under a folder (recursively, by relative path), or undefined when it is not a folder. */
function listFolder(folder: string): Record<string, Buffer> | undefined {
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) return undefined;
  const files: Record<string, Buffer> = {};
  for (const entry of fs.readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files[path.relative(folder, file).split(path.sep).join('/')] = fs.readFileSync(file);
  }
  return files;
}

function escapesFolder(relative: string): boolean {
  return path.isAbsolute(relative) || relative.split(/[\\/]+/).includes('..');
}

function displayPath(p: string, relativeTo = process.cwd()): string {
  const relative = path.relative(relativeTo, p);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : p;
}

/** A profile's problem is found once per step that takes the field: reported once. */
function uniqueDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.code}\u0000${d.file}:${d.line}:${d.column}\u0000${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.code.localeCompare(b.code),
  );
}

function sortKeys<T extends Record<string, unknown>>(record: T): T {
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]]),
  ) as T;
}
