import * as path from 'node:path';
import { z } from 'zod';
import { versus } from './hashes';

// What `sop verify` reads from each execution's evidence.json (written by the agent activity). Loose: the
// record carries much more (policy, outcome, denials, ...), and fields added later must not break checks.

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

const agentRecordSchema = z.looseObject({
  sop: z.string(),
  task: z.string(),
  step: z.string(),
  startedAt: z.string(),
  durationMs: z.number(),
  /** sha256 of prompt.md next to the record; null when the activity failed before it wrote the prompt */
  promptSha256: hex64.nullable(),
  /** sha256 of transcript.jsonl next to the record; null when the harness wrote none (absent in old records) */
  transcriptSha256: hex64.nullable().optional(),
  /** every other file of the execution folder (folder-relative) with its sha256 (absent in old records) */
  files: z.record(z.string(), hex64).optional(),
  artifacts: z.array(
    z.looseObject({ name: z.string(), path: z.string(), exists: z.boolean(), sha256: hex64.optional() }),
  ),
});
/** A person's answer (`<n>-answer/evidence.json`): no prompt, transcript or artifacts to vouch for. */
const answerRecordSchema = z.looseObject({
  kind: z.literal('answer'),
  sop: z.string(),
  task: z.string(),
  step: z.string(),
  requestId: z.string(),
});
/** A child run that served a `kind: sop` step (`<n>-sop/evidence.json`): its own run folder has its evidence. */
const childRunRecordSchema = z.looseObject({
  kind: z.literal('sop'),
  sop: z.string(),
  task: z.string(),
  step: z.string(),
  child: z.looseObject({ sop: z.string(), workflowId: z.string(), status: z.string() }),
});
const evidenceRecordSchema = z.union([answerRecordSchema, childRunRecordSchema, agentRecordSchema]);
export type EvidenceRecord = z.infer<typeof evidenceRecordSchema>;
type FilelessRecord = z.infer<typeof answerRecordSchema> | z.infer<typeof childRunRecordSchema>;
/** Records that vouch for no file of the run folder (an answer, a child run). */
const isFileless = (record: EvidenceRecord): record is FilelessRecord =>
  record.kind === 'answer' || record.kind === 'sop';

/** The files of a run folder (or of a pack's copy of it), run-folder-relative, with their sha256. */
export type FileHashes = ReadonlyMap<string, { sha256: string; size: number }>;

/** A file an evidence record vouches for, with the hash the record holds. */
export interface Vouched {
  file: string;
  sha256: string;
  record: string;
  what: 'prompt' | 'transcript' | `artifact ${string}` | `file ${string}`;
}

export function parseRecord(file: string, text: string): { record?: EvidenceRecord; problem?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { problem: `evidence record ${file} is not valid JSON: ${(err as Error).message}` };
  }
  const parsed = evidenceRecordSchema.safeParse(json);
  if (parsed.success) return { record: parsed.data };
  const issue = parsed.error.issues[0];
  return {
    problem: `evidence record ${file}: field ${issue.path.join('.') || '(root)'} ${issue.message}`,
  };
}

/**
 * The files each record vouches for: its prompt and transcript (next to it), and the artifacts it
 * reported inside the run folder — each artifact only by the last record that reported it (a later
 * execution may rewrite an artifact; the latest writer's hash is the one the file must have).
 */
export function vouchedFiles(records: Array<{ file: string; record: EvidenceRecord }>): Vouched[] {
  const out: Vouched[] = [];
  const lastArtifact = new Map<string, Vouched & { endsAt: number }>();
  for (const { file, record } of records) {
    if (isFileless(record)) continue;
    const dir = path.posix.dirname(file);
    if (record.promptSha256)
      out.push({ file: `${dir}/prompt.md`, sha256: record.promptSha256, record: file, what: 'prompt' });
    if (record.transcriptSha256)
      out.push({
        file: `${dir}/transcript.jsonl`,
        sha256: record.transcriptSha256,
        record: file,
        what: 'transcript',
      });
    for (const [name, sha256] of Object.entries(record.files ?? {}))
      out.push({ file: `${dir}/${name}`, sha256, record: file, what: `file ${name}` });
    const prefix = `.sop/runs/${record.sop}/${record.task}/`;
    const endsAt = Date.parse(record.startedAt) + record.durationMs;
    for (const artifact of record.artifacts) {
      if (!artifact.exists || !artifact.sha256 || !artifact.path.startsWith(prefix)) continue;
      const inFolder = artifact.path.slice(prefix.length);
      const earlier = lastArtifact.get(inFolder);
      if (earlier && earlier.endsAt > endsAt) continue;
      lastArtifact.set(inFolder, {
        file: inFolder,
        sha256: artifact.sha256,
        record: file,
        what: `artifact ${artifact.name}`,
        endsAt,
      });
    }
  }
  for (const { endsAt: _, ...v } of lastArtifact.values()) out.push(v);
  return out;
}

/** Each vouched-for file compared with the file as it is; a problem names the file, the record and both hashes. */
export function checkVouched(
  vouched: Vouched[],
  files: FileHashes,
  exempt: ReadonlySet<string> = new Set(),
): string[] {
  const problems: string[] = [];
  for (const v of vouched) {
    const actual = files.get(v.file);
    if (!actual) {
      problems.push(`${v.file}: missing, but evidence record ${v.record} holds its sha256 (${v.what})`);
    } else if (actual.sha256 !== v.sha256 && !exempt.has(v.file)) {
      problems.push(
        `${v.file} was modified: sha256 ${versus(actual.sha256, v.sha256)} recorded by evidence record ${v.record} (${v.what})`,
      );
    }
  }
  return problems;
}
