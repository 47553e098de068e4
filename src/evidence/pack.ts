import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';

/**
 * Evidence packs: a run folder exported as tar.gz with a manifest that lists every file with its sha256,
 * and chains the per-execution evidence records in execution order (each link hashes the previous link
 * and the record), so removing, reordering or editing any record is detected and named.
 */
export interface PackManifest {
  format: 'sop-evidence-pack/1';
  sop: string;
  task: string;
  exportedAt: string;
  run: unknown;
  files: Array<{ path: string; sha256: string; size: number }>;
  chain: Array<{ record: string; sha256: string; link: string }>;
  head: string;
}

const MANIFEST = 'manifest.json';
const GENESIS = '0'.repeat(64);

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const linkOf = (previous: string, recordSha: string) => sha256(`${previous}\n${recordSha}`);

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
  walk(root);
  return out;
}

/** Evidence records in execution order (their folder names start with the zero-padded execution number). */
function evidenceRecords(files: string[]): string[] {
  const executionOf = (file: string) =>
    Number(/\/(\d{4,})-[^/]+\/evidence\.json$/.exec(file)?.[1] ?? Number.MAX_SAFE_INTEGER);
  return files
    .filter((f) => f.endsWith('/evidence.json'))
    .sort((a, b) => executionOf(a) - executionOf(b) || a.localeCompare(b));
}

export async function exportPack(options: {
  runFolder: string;
  sop: string;
  task: string;
  run: unknown;
  output: string;
}): Promise<PackManifest> {
  if (!fs.existsSync(options.runFolder)) throw new Error(`run folder ${options.runFolder} does not exist`);
  const files = listFiles(options.runFolder).filter((f) => f !== MANIFEST);
  const entries = files.map((f) => {
    const content = fs.readFileSync(path.join(options.runFolder, f));
    return { path: f, sha256: sha256(content), size: content.length };
  });
  const shaOf = new Map(entries.map((e) => [e.path, e.sha256]));
  let previous = GENESIS;
  const chain = evidenceRecords(files).map((record) => {
    const link = linkOf(previous, shaOf.get(record)!);
    previous = link;
    return { record, sha256: shaOf.get(record)!, link };
  });
  const manifest: PackManifest = {
    format: 'sop-evidence-pack/1',
    sop: options.sop,
    task: options.task,
    exportedAt: new Date().toISOString(),
    run: options.run,
    files: entries,
    chain,
    head: previous,
  };
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-pack-'));
  try {
    fs.writeFileSync(path.join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    fs.cpSync(options.runFolder, path.join(staging, 'run'), { recursive: true });
    fs.mkdirSync(path.dirname(path.resolve(options.output)), { recursive: true });
    await tar.create({ gzip: true, file: options.output, cwd: staging, portable: true }, [MANIFEST, 'run']);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return manifest;
}

export interface VerifyResult {
  ok: boolean;
  problems: string[];
  manifest?: PackManifest;
}

/** Recomputes every hash and the record chain; each problem names the file or record. */
export async function verifyPack(file: string): Promise<VerifyResult> {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-verify-'));
  try {
    try {
      await tar.extract({ file, cwd: dir, strict: true });
    } catch (err) {
      return { ok: false, problems: [`not a readable evidence pack: ${(err as Error).message}`] };
    }
    const manifestPath = path.join(dir, MANIFEST);
    if (!fs.existsSync(manifestPath)) return { ok: false, problems: ['the pack has no manifest.json'] };
    let manifest: PackManifest;
    try {
      manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    } catch (err) {
      return { ok: false, problems: [`manifest.json is not valid JSON: ${(err as Error).message}`] };
    }
    const problems: string[] = [];
    const root = path.join(dir, 'run');
    const present = new Set(fs.existsSync(root) ? listFiles(root) : []);
    for (const entry of manifest.files ?? []) {
      const full = path.join(root, entry.path);
      if (!present.delete(entry.path)) {
        problems.push(`${entry.path}: listed in the manifest but missing from the pack`);
        continue;
      }
      const actual = sha256(fs.readFileSync(full));
      if (actual !== entry.sha256) {
        const kind = entry.path.endsWith('/evidence.json') ? 'evidence record' : 'file';
        problems.push(
          `${kind} ${entry.path} was modified (sha256 ${actual.slice(0, 12)}… ≠ ${entry.sha256.slice(0, 12)}…)`,
        );
      }
    }
    for (const extra of present) problems.push(`${extra}: in the pack but not in the manifest`);
    let previous = GENESIS;
    for (const link of manifest.chain ?? []) {
      const expected = linkOf(previous, link.sha256);
      if (expected !== link.link) problems.push(`evidence chain broken at ${link.record}`);
      const listed = manifest.files.find((f) => f.path === link.record);
      if (!listed || listed.sha256 !== link.sha256)
        problems.push(`evidence record ${link.record} does not match its chain entry`);
      previous = link.link;
    }
    if (previous !== manifest.head)
      problems.push('the chain head does not match the manifest (records removed or reordered)');
    return { ok: problems.length === 0, problems, manifest };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
