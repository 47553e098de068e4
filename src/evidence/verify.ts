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
import {
  checkVouched,
  type EvidenceRecord,
  type FileHashes,
  parseRecord,
  type Vouched,
  vouchedFiles,
} from './record';
import { checkExecutions, checkOutputs, checkRunJson, type RunFileCheck } from './run-files';
import { checkSignature } from './signing';

/**
 * Verification of an evidence pack or a run folder. Trust comes from three places, each checked when
 * available: the evidence records (each holds the sha256 of its prompt, transcript, harness files and
 * artifacts) chained into the manifest's head; an Ed25519 signature of the manifest (--key); and what
 * Temporal recorded in the run's history (--against-history): every evidence record's sha256, run.json's
 * final stamp, every executions.jsonl line, every command's output. Every problem names the file that
 * differs and shows both values; `coverage` says which file was compared with what, and which with nothing.
 */
export interface Verification {
  ok: boolean;
  problems: string[];
  /** what was checked, for the OK line */
  checked: { files: number; records: number; signedBy?: string; signatureChecked: boolean; history?: number };
  coverage: Coverage;
  manifest?: PackManifest;
}

/** Which file was compared with what (each file in one list, the strongest comparison made). */
export interface Coverage {
  /** compared with what Temporal history recorded */
  history: string[];
  /** compared with the sha256 an evidence record holds */
  records: string[];
  /** compared only with their sha256 in manifest.json */
  hashOnly: string[];
  /** compared with nothing (a run folder has no manifest) */
  unchecked: string[];
  /** how run.json and executions.jsonl were compared with history, or why they could not be */
  notes: string[];
}

export interface VerifyOptions {
  publicKey?: { key: KeyObject; file: string };
  history?: HistoryEvidence;
  /** the run the pack must be of (with --against-history) */
  run?: { sop: string; task: string };
}

const noCoverage = (): Coverage => ({ history: [], records: [], hashOnly: [], unchecked: [], notes: [] });

export async function verifyPack(file: string, options: VerifyOptions = {}): Promise<Verification> {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-verify-'));
  try {
    try {
      await tar.extract({ file, cwd: dir, strict: true });
    } catch (err) {
      return failed(`not a readable evidence pack: ${(err as Error).message}`);
    }
    return verifyPackDir(dir, options);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const failed = (problem: string): Verification => ({
  ok: false,
  problems: [problem],
  checked: { files: 0, records: 0, signatureChecked: false },
  coverage: noCoverage(),
});

/** A pack as a folder (extracted): manifest.json and the run folder under `run/`. */
export function verifyPackDir(dir: string, options: VerifyOptions = {}): Verification {
  const manifestPath = path.join(dir, MANIFEST);
  if (!fs.existsSync(manifestPath)) return failed('the pack has no manifest.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    return failed(`manifest.json is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = packManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return failed(`manifest.json: field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return checkPack(path.join(dir, 'run'), raw, parsed.data, options);
}

/**
 * A run folder as it is on disk: every file against the evidence record that holds its hash, and with
 * `history` everything history recorded. Without history the records and run.json and executions.jsonl
 * are compared with nothing: they are listed as unchecked.
 */
export function verifyRunFolder(folder: string, history?: HistoryEvidence): Verification {
  if (!fs.existsSync(folder)) throw new Error(`run folder ${folder} does not exist`);
  const files = hashFiles(folder);
  const { records, problems } = readRecords(folder, files);
  const exempt = history?.runtimeWritten ?? new Set<string>();
  const vouched = vouchedFiles(records);
  problems.push(...checkVouched(vouched, files, exempt));
  const fromHistory = history ? againstHistory(folder, files, history, 'the run folder') : undefined;
  if (fromHistory) problems.push(...fromHistory.problems);
  return {
    ok: problems.length === 0,
    problems,
    checked: { files: files.size, records: records.length, signatureChecked: false, history: history?.runs },
    coverage: coverageOf(files, { vouched, exempt, history: fromHistory, manifest: false }),
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
  const fromHistory = options.history ? againstHistory(root, files, options.history, 'the pack') : undefined;
  if (fromHistory) problems.push(...fromHistory.problems);

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
    coverage: coverageOf(files, { vouched, exempt, history: fromHistory, manifest: true }),
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

/** Everything history recorded about the folder: evidence records, run.json, executions.jsonl, command logs. */
function againstHistory(
  root: string,
  files: FileHashes,
  history: HistoryEvidence,
  where: string,
): RunFileCheck {
  const problems: string[] = [];
  const compared: string[] = [];
  for (const record of evidenceRecords(files.keys())) {
    const recorded = history.records.get(record);
    const actual = files.get(record)!;
    if (!recorded) {
      problems.push(
        `evidence record ${record} is not in the run's Temporal history (no agent activity reported it)`,
      );
      continue;
    }
    compared.push(record);
    if (recorded.sha256 !== actual.sha256)
      problems.push(
        `evidence record ${record} was modified: sha256 ${versus(actual.sha256, recorded.sha256)} recorded in Temporal history (event ${recorded.eventId} of run ${recorded.runId})`,
      );
  }
  for (const record of history.records.keys())
    if (!files.has(record))
      problems.push(`evidence record ${record} is in Temporal history but missing from ${where}`);
  const read = (file: string) => (files.has(file) ? readText(root, file) : undefined);
  const checks = [checkRunJson(read, history), checkExecutions(read, history), checkOutputs(files, history)];
  return {
    problems: [...problems, ...checks.flatMap((c) => c.problems)],
    compared: [...compared, ...checks.flatMap((c) => c.compared)],
    notes: checks.flatMap((c) => c.notes),
  };
}

/** Each file in the list of the strongest comparison made: history, then records, then the manifest. */
function coverageOf(
  files: FileHashes,
  made: { vouched: Vouched[]; exempt: ReadonlySet<string>; history?: RunFileCheck; manifest: boolean },
): Coverage {
  const coverage = noCoverage();
  const history = new Set(made.history?.compared ?? []);
  const records = new Set(made.vouched.filter((v) => !made.exempt.has(v.file)).map((v) => v.file));
  for (const file of files.keys()) {
    if (history.has(file)) coverage.history.push(file);
    else if (records.has(file)) coverage.records.push(file);
    else if (made.manifest) coverage.hashOnly.push(file);
    else coverage.unchecked.push(file);
  }
  coverage.notes = made.history?.notes ?? [];
  return coverage;
}
