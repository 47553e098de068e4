import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';
import { evidenceRecords, hashFiles, readText } from './folder';
import { versus } from './hashes';
import type { HistoryEvidence } from './history';
import { GENESIS, MANIFEST, type PackManifest, packManifestSchema } from './manifest';
import { linkOf } from './pack';
import { checkVouched, type EvidenceRecord, type FileHashes, parseRecord, vouchedFiles } from './record';
import { checkSignature } from './signing';

/**
 * Verification of an evidence pack or a run folder. Trust comes from three places, each checked when
 * available: the evidence records (each holds the sha256 of its prompt, transcript and artifacts) chained
 * into the manifest's head; an Ed25519 signature of the manifest (--key); and the evidence hashes Temporal
 * recorded in the run's history (--against-history). Every problem names the file that differs and shows
 * both hashes, with enough characters to see the difference.
 */
export interface Verification {
  ok: boolean;
  problems: string[];
  /** what was checked, for the OK line */
  checked: { files: number; records: number; signedBy?: string; signatureChecked: boolean; history?: number };
  manifest?: PackManifest;
}

export interface VerifyOptions {
  publicKey?: { key: KeyObject; file: string };
  history?: HistoryEvidence;
  /** the run the pack must be of (with --against-history) */
  run?: { sop: string; task: string };
}

export async function verifyPack(file: string, options: VerifyOptions = {}): Promise<Verification> {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-verify-'));
  const fail = (problem: string): Verification => ({
    ok: false,
    problems: [problem],
    checked: { files: 0, records: 0, signatureChecked: false },
  });
  try {
    try {
      await tar.extract({ file, cwd: dir, strict: true });
    } catch (err) {
      return fail(`not a readable evidence pack: ${(err as Error).message}`);
    }
    const manifestPath = path.join(dir, MANIFEST);
    if (!fs.existsSync(manifestPath)) return fail('the pack has no manifest.json');
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
    } catch (err) {
      return fail(`manifest.json is not valid JSON: ${(err as Error).message}`);
    }
    const parsed = packManifestSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail(`manifest.json: field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    return checkPack(path.join(dir, 'run'), raw, parsed.data, options);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A run folder as it is on disk, checked against its own records and Temporal history. */
export function verifyRunFolder(folder: string, history: HistoryEvidence): Verification {
  if (!fs.existsSync(folder)) throw new Error(`run folder ${folder} does not exist`);
  const files = hashFiles(folder);
  const { records, problems } = readRecords(folder, files);
  problems.push(...checkVouched(vouchedFiles(records), files, history.runtimeWritten));
  problems.push(...againstHistory(files, history, 'the run folder'));
  return {
    ok: problems.length === 0,
    problems,
    checked: { files: files.size, records: records.length, signatureChecked: false, history: history.runs },
  };
}

function checkPack(
  root: string,
  raw: Record<string, unknown>,
  manifest: PackManifest,
  options: VerifyOptions,
): Verification {
  const problems: string[] = [];
  if (options.run && (options.run.sop !== manifest.sop || options.run.task !== manifest.task))
    problems.push(
      `the pack is of ${manifest.sop}/${manifest.task}, not of ${options.run.sop}/${options.run.task}`,
    );
  const signatureProblems = options.publicKey
    ? checkSignature(raw, options.publicKey.key, options.publicKey.file)
    : [];
  problems.push(...signatureProblems);
  const signed = options.publicKey !== undefined && signatureProblems.length === 0;

  const files = hashFiles(root);
  const { records, problems: recordProblems } = readRecords(root, files);
  problems.push(...recordProblems);
  problems.push(...checkChain(manifest, files));

  const exempt = options.history?.runtimeWritten ?? new Set(manifest.runtimeWritten ?? []);
  const vouched = vouchedFiles(records);
  problems.push(...checkVouched(vouched, files, exempt));
  // what the evidence (chain or record) says each file's hash is
  const vouchedHash = new Map<string, { sha256: string; by: string }>();
  for (const v of vouched)
    if (!exempt.has(v.file)) vouchedHash.set(v.file, { sha256: v.sha256, by: v.record });
  for (const link of manifest.chain)
    vouchedHash.set(link.record, { sha256: link.sha256, by: 'the evidence chain' });

  const unlisted = new Set(files.keys());
  for (const entry of manifest.files) {
    const actual = files.get(entry.path);
    if (!unlisted.delete(entry.path)) {
      problems.push(`${entry.path}: listed in manifest.json but missing from the pack`);
      continue;
    }
    if (actual!.sha256 === entry.sha256) continue;
    const evidence = vouchedHash.get(entry.path);
    if (evidence && evidence.sha256 === actual!.sha256) {
      problems.push(
        `manifest.json was edited: its entry for ${entry.path} says sha256 ${versus(entry.sha256, actual!.sha256)}, the hash of the file and of ${evidence.by}`,
      );
    } else if (evidence) {
      // the file differs from its evidence too: reported above, naming the file
    } else if (signed) {
      problems.push(
        `${entry.path} was modified: sha256 ${versus(actual!.sha256, entry.sha256)} in the signed manifest.json`,
      );
    } else {
      problems.push(
        `${entry.path} does not match manifest.json: sha256 ${versus(actual!.sha256, entry.sha256)} (no evidence record covers this file: the file or manifest.json was edited; a signed pack tells which)`,
      );
    }
  }
  for (const extra of unlisted) problems.push(`${extra}: in the pack but not in manifest.json`);
  if (options.history) problems.push(...againstHistory(files, options.history, 'the pack'));

  return {
    ok: problems.length === 0,
    problems,
    manifest,
    checked: {
      files: files.size,
      records: records.length,
      signedBy: manifest.signature?.keySha256,
      signatureChecked: signed,
      history: options.history?.runs,
    },
  };
}

function readRecords(
  root: string,
  files: FileHashes,
): { records: Array<{ file: string; record: EvidenceRecord }>; problems: string[] } {
  const records: Array<{ file: string; record: EvidenceRecord }> = [];
  const problems: string[] = [];
  for (const file of evidenceRecords(files.keys())) {
    const { record, problem } = parseRecord(file, readText(root, file));
    if (record) records.push({ file, record });
    else problems.push(problem!);
  }
  return { records, problems };
}

/** The chain recomputed from the records as they are in the pack, in the manifest's order. */
function checkChain(manifest: PackManifest, files: FileHashes): string[] {
  const problems: string[] = [];
  let previous = GENESIS;
  const chained = new Set<string>();
  for (const link of manifest.chain) {
    chained.add(link.record);
    const actual = files.get(link.record);
    if (!actual) problems.push(`evidence record ${link.record} is in the chain but missing from the pack`);
    else if (actual.sha256 !== link.sha256)
      problems.push(
        `evidence record ${link.record} was modified: sha256 ${versus(actual.sha256, link.sha256)} in the evidence chain`,
      );
    if (linkOf(previous, link.sha256) !== link.link)
      problems.push(
        `the evidence chain is broken at ${link.record} (its chain entry in manifest.json was edited)`,
      );
    previous = link.link;
  }
  if (previous !== manifest.head)
    problems.push(
      `manifest.json was edited: its chain head ${versus(manifest.head, previous)} is not where its chain ends (records removed or reordered)`,
    );
  for (const record of evidenceRecords(files.keys()))
    if (!chained.has(record))
      problems.push(
        `evidence record ${record} is not in the evidence chain (added, or dropped from manifest.json)`,
      );
  return problems;
}

function againstHistory(files: FileHashes, history: HistoryEvidence, where: string): string[] {
  const problems: string[] = [];
  for (const record of evidenceRecords(files.keys())) {
    const recorded = history.records.get(record);
    const actual = files.get(record)!;
    if (!recorded)
      problems.push(
        `evidence record ${record} is not in the run's Temporal history (no agent activity reported it)`,
      );
    else if (recorded.sha256 !== actual.sha256)
      problems.push(
        `evidence record ${record} was modified: sha256 ${versus(actual.sha256, recorded.sha256)} recorded in Temporal history (event ${recorded.eventId} of run ${recorded.runId})`,
      );
  }
  for (const record of history.records.keys())
    if (!files.has(record))
      problems.push(`evidence record ${record} is in Temporal history but missing from ${where}`);
  return problems;
}
