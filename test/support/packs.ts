// Editing evidence packs the way a forger would: change files inside, then make manifest.json agree.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';
import { linkOf } from '../../src/evidence/pack';

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

interface Manifest {
  files: Array<{ path: string; sha256: string; size: number }>;
  chain: Array<{ record: string; sha256: string; link: string }>;
  head: string;
  [key: string]: unknown;
}

/**
 * Extracts `pack`, applies `edit` to the extracted tree (run files under `run/`), then — as `forge` says —
 * updates manifest.json's file entries for the changed files (`entries`) and rebuilds its chain and head
 * (`chain`), and writes the result as a new pack.
 */
export async function editPack(
  pack: string,
  edit: (dir: string, manifest: Manifest) => void,
  forge: { entries?: boolean; chain?: boolean } = {},
): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-forge-'));
  await tar.extract({ file: pack, cwd: dir });
  const manifestFile = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
  edit(dir, manifest);
  if (forge.entries) {
    for (const entry of manifest.files) {
      const content = fs.readFileSync(path.join(dir, 'run', entry.path));
      entry.sha256 = sha(content);
      entry.size = content.length;
    }
  }
  if (forge.chain) {
    let previous = '0'.repeat(64);
    for (const link of manifest.chain) {
      link.sha256 = sha(fs.readFileSync(path.join(dir, 'run', link.record)));
      link.link = linkOf(previous, link.sha256);
      previous = link.link;
    }
    manifest.head = previous;
  }
  fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  const out = path.join(dir, 'edited.tar.gz');
  await tar.create({ gzip: true, file: out, cwd: dir }, ['manifest.json', 'run']);
  return out;
}

/** Appends text to a file of the extracted pack. */
export const appendTo = (dir: string, file: string, text: string) =>
  fs.appendFileSync(path.join(dir, 'run', file), text);
