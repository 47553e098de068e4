import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';
import { evidenceRecords, hashFiles } from './folder';
import { sha256 } from './hashes';
import { GENESIS, MANIFEST, PACK_FORMAT, type PackManifest } from './manifest';
import { signManifest } from './signing';

/**
 * Evidence packs: a run folder exported as tar.gz with a manifest that lists every file with its sha256,
 * and chains the per-execution evidence records in execution order (each link hashes the previous link
 * and the record), so removing, reordering or editing any record is detected and named. Each record holds
 * the hashes of its prompt, transcript and artifacts, so those files are covered by the chain too; an
 * optional Ed25519 signature covers the chain head and the whole manifest.
 */
export const linkOf = (previous: string, recordSha: string) => sha256(`${previous}\n${recordSha}`);

export async function exportPack(options: {
  runFolder: string;
  sop: string;
  task: string;
  run: unknown;
  output: string;
  /** files the runtime rewrites after an agent wrote them (from the run's plan), run-folder-relative */
  runtimeWritten?: string[];
  signingKey?: KeyObject;
}): Promise<PackManifest> {
  if (!fs.existsSync(options.runFolder)) throw new Error(`run folder ${options.runFolder} does not exist`);
  const hashes = hashFiles(options.runFolder);
  hashes.delete(MANIFEST);
  const entries = [...hashes].map(([file, h]) => ({ path: file, sha256: h.sha256, size: h.size }));
  let previous = GENESIS;
  const chain = evidenceRecords(hashes.keys()).map((record) => {
    const recordSha = hashes.get(record)!.sha256;
    const link = linkOf(previous, recordSha);
    previous = link;
    return { record, sha256: recordSha, link };
  });
  const manifest: PackManifest = {
    format: PACK_FORMAT,
    sop: options.sop,
    task: options.task,
    exportedAt: new Date().toISOString(),
    run: options.run,
    files: entries,
    chain,
    head: previous,
    runtimeWritten: [...(options.runtimeWritten ?? [])].sort(),
  };
  if (options.signingKey) manifest.signature = signManifest(manifest, options.signingKey);
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
