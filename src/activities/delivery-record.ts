// The run's verified record in its pull request's body: the routes taken, each gate and who passed it, the
// denials, the cost, the evidence digest (the chain head an evidence pack of the run folder has now) and the
// fingerprint of the key that signed it, and the run's page in the Web UI. Rewritten on every delivery, so the
// pull request says where the run is; never a second copy (the body is replaced, not appended to).

import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRecordFacts } from '../shapes/deliveries';

/** The evidence records of a run folder in execution order and the chain head over them. */
export interface EvidenceDigest {
  records: number;
  /** the chain head `sop runs export` puts in the pack's manifest (`head`), for the same run folder */
  head: string;
  /** present when the worker has SOP_EVIDENCE_SIGNING_KEY_FILE */
  signature?: { keySha256: string; value: string };
}

const GENESIS = '0'.repeat(64);
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * The evidence chain head of a run folder: each `NNNN-*​/evidence.json` record hashed, chained in execution
 * order (link = sha256(previous + "\n" + record sha)). The same computation as an evidence pack's manifest
 * (evidence/pack.ts, which sits above the activities); a unit test keeps the two equal.
 */
export function evidenceDigest(
  runFolder: string,
  signingKeyFile?: string,
  statement?: object,
): EvidenceDigest {
  const records = evidenceFiles(runFolder);
  let head = GENESIS;
  for (const file of records)
    head = sha256(`${head}\n${sha256(fs.readFileSync(path.join(runFolder, file)))}`);
  const digest: EvidenceDigest = { records: records.length, head };
  if (signingKeyFile) {
    const key = createPrivateKey(fs.readFileSync(signingKeyFile, 'utf8'));
    const text = JSON.stringify({ statement: 'sop run record', ...statement, head });
    digest.signature = {
      keySha256: sha256(createPublicKey(key).export({ type: 'spki', format: 'der' })),
      value: sign(null, Buffer.from(text), key).toString('base64'),
    };
  }
  return digest;
}

function evidenceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === 'evidence.json') out.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  walk(root);
  const executionOf = (file: string) =>
    Number(/\/(\d{4,})-[^/]+\/evidence\.json$/.exec(file)?.[1] ?? Number.MAX_SAFE_INTEGER);
  return out.sort((a, b) => executionOf(a) - executionOf(b) || a.localeCompare(b));
}

/** The heading that starts the record: what the runtime replaces, never repeats. */
const RECORD_HEADING = '### Run record';

const MAX_ROUTES = 40;
const MAX_DENIALS = 10;

/** Markdown of the record (below the SOP's own body text). */
export function renderRecord(
  facts: RunRecordFacts,
  run: { sop: string; taskId: string; link?: string },
  digest: EvidenceDigest,
): string {
  const status = facts.status === 'failed' ? `failed: ${facts.failure ?? ''}` : facts.status;
  const lines = [
    '---',
    `${RECORD_HEADING} \`${run.sop}/${run.taskId}\``,
    '',
    `**Status:** ${status}${run.link ? ` · [the run in the Web UI](${run.link})` : ''}`,
    '',
    '**Routes taken**',
    '',
  ];
  const routes = facts.routesTaken.slice(-MAX_ROUTES);
  if (routes.length === 0) lines.push('- none yet');
  for (const r of routes)
    lines.push(`- \`${r.step}${r.item ? ` [${r.item}]` : ''}\` → \`${r.route}\` → ${r.target}`);
  lines.push('', '**Gates**', '');
  const gates = gatesOf(facts);
  lines.push(...(gates.length > 0 ? gates : ['- none passed yet']));
  lines.push(
    '',
    `**Denials:** ${facts.deniedCalls === 0 ? 'none' : `${facts.deniedCalls} tool call(s) denied or blocked`}`,
  );
  for (const d of facts.denials.slice(-MAX_DENIALS))
    lines.push(`- \`${d.step}\` (${d.role}): ${[d.tool, d.reason].filter(Boolean).join(': ')}`);
  if (facts.refused.length > 0) {
    lines.push('', `**Refused agent requests:** ${facts.refused.length}`);
    for (const r of facts.refused.slice(-MAX_DENIALS))
      lines.push(`- \`${r.step}\` asked for ${r.kind} "${r.value}": ${r.reason}`);
  }
  const u = facts.usage;
  lines.push(
    '',
    `**Cost:** $${u.costUsd.toFixed(4)} · ${u.inputTokens} input / ${u.outputTokens} output tokens · ${u.agentRuns} agent run(s)`,
    '',
    `**Evidence:** chain head \`${digest.head}\` over ${digest.records} record(s)${
      digest.signature
        ? ` · signed, key sha256 \`${digest.signature.keySha256}\``
        : ' · unsigned (the worker has no SOP_EVIDENCE_SIGNING_KEY_FILE)'
    }`,
  );
  if (digest.signature) lines.push('', `<!-- sop-record-signature ${digest.signature.value} -->`);
  return lines.join('\n');
}

/** One line per gate passed: a verifier's verdict, a command's exit, a person's answer. */
function gatesOf(facts: RunRecordFacts): string[] {
  const kinds = new Map(facts.steps.map((s) => [s.name, s]));
  const out: string[] = [];
  for (const r of facts.routesTaken) {
    const step = kinds.get(r.step);
    if (!step) continue;
    if (step.kind === 'produce_verify') out.push(`- \`${r.step}\`: the verifier routed \`${r.route}\``);
    else if (step.kind === 'command')
      out.push(
        `- \`${r.step}\`: \`${step.command ?? ''}\` ${r.route === 'passed' ? 'passed (exit 0)' : 'failed'}`,
      );
    else if (step.kind === 'input') {
      const answer = [...facts.answers].reverse().find((a) => a.step === r.step && a.route === r.route);
      out.push(`- \`${r.step}\`: ${answer?.by ?? 'a person'} answered \`${r.route}\``);
    }
  }
  for (const a of facts.answers)
    if (a.kind === 'tool_approval') out.push(`- \`${a.step}\`: ${a.by ?? 'a person'} decided a tool call`);
  return out;
}
