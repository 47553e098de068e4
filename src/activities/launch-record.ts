// The evidence record of one harness launch (`<execution folder>/evidence.json`) and the fields of its line
// in executions.jsonl that say which launch it was. Every launch that started gets both: one that came back
// with a result, one the provider rate-limited (the run parks), one the activity itself failed on.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activityInfo } from '@temporalio/activity';
import type { AgentRunResult } from '../harnesses/runner';
import type { AgentStepRequest, ArtifactReport, SessionReport } from '../shapes/contract';

export interface LaunchEvidence {
  request: AgentStepRequest;
  launch: number;
  started: number;
  executionDir: string;
  /** the rendered prompt (undefined: the activity failed before it was written) */
  prompt?: string;
  run: AgentRunResult;
  launchFailure?: string;
  /** the provider refused until then: the run parks and launches again */
  rateLimited?: { untilMs: number; message: string };
  artifacts: ArtifactReport[];
  violations: string[];
  writes: unknown;
  /** the role's session slot: which session ran, resumed or fresh */
  session?: SessionReport;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * Writes the launch's evidence.json; returns its run-folder-relative path and sha256 (the activity reports
 * both, so Temporal history holds what `sop verify --against-history` checks the file against).
 */
export function writeLaunchEvidence(e: LaunchEvidence): {
  evidence: string;
  evidenceSha256: string;
  transcript?: string;
  durationMs: number;
} {
  const { request, run } = e;
  const transcriptPath = path.join(e.executionDir, 'transcript.jsonl');
  const transcript = fs.statSync(transcriptPath, { throwIfNoEntry: false })?.isFile()
    ? fs.readFileSync(transcriptPath)
    : undefined;
  const durationMs = Date.now() - e.started;
  const text = `${JSON.stringify(
    {
      sop: request.run.sop,
      task: request.run.taskId,
      step: request.step,
      item: request.context.item?.id,
      role: request.role,
      attempt: request.attempt,
      launch: e.launch,
      activityAttempt: activityInfo().attempt,
      startedAt: new Date(e.started).toISOString(),
      durationMs,
      promptSha256: e.prompt === undefined ? null : sha256(e.prompt),
      // the transcript as it is now, finished: `sop verify` checks the file against it
      transcriptSha256: transcript ? sha256(transcript) : null,
      // what else the harness left in the folder (its settings, Codex's rollout): checked the same way
      files: otherFiles(e.executionDir),
      provider: request.spec.provider,
      model: request.spec.model ?? null,
      requestedPolicy: request.spec.policy,
      effectiveConfig: run.effectiveConfig ?? null,
      outcome: run.outcome ?? null,
      outcomeError: run.outcomeError ?? null,
      outcomeCorrected: run.corrected ?? null,
      launchFailure: e.launchFailure ?? null,
      ...(e.rateLimited
        ? {
            rateLimited: {
              message: e.rateLimited.message,
              parkedUntil: new Date(e.rateLimited.untilMs).toISOString(),
            },
          }
        : {}),
      denials: run.denials ?? [],
      toolApprovals: run.approvals ?? [],
      ...(run.mcpCalls ? { mcpCalls: run.mcpCalls } : {}),
      artifacts: e.artifacts,
      violations: e.violations,
      writes: e.writes,
      usage: run.usage,
      sessionId: run.sessionId ?? null,
      session: e.session ? sessionLine(e.session) : null,
      ...(request.worktree ? { worktree: worktreeRecord(request) } : {}),
    },
    null,
    2,
  )}\n`;
  const file = path.join(e.executionDir, 'evidence.json');
  fs.writeFileSync(file, text);
  return {
    evidence: path.relative(request.run.runFolder, file),
    evidenceSha256: sha256(text),
    transcript: transcript ? path.relative(request.run.runFolder, transcriptPath) : undefined,
    durationMs,
  };
}

/** Every other file of the execution folder (folder-relative, `/`-separated) with its sha256. */
function otherFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const entries = fs.readdirSync(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries.filter((d) => d.isFile())) {
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, full).split(path.sep).join('/');
    if (!RECORDED_APART.has(rel)) out[rel] = sha256(fs.readFileSync(full));
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
const RECORDED_APART = new Set(['prompt.md', 'transcript.jsonl', 'evidence.json']);

/** The fields of an agent execution's line in executions.jsonl that say which launch it was. */
export function launchLine(request: AgentStepRequest, folder: string, launch: number, started: number) {
  return {
    kind: 'agent' as const,
    path: path.join('steps', folder),
    step: request.step,
    item: request.context.item?.id ?? null,
    role: request.role,
    attempt: request.attempt,
    launch,
    provider: request.spec.provider,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    ...(request.worktree ? { worktree: worktreeRecord(request) } : {}),
  };
}

/** The session of an execution as evidence and executions.jsonl show it. */
export function sessionLine(report: SessionReport) {
  return {
    slot: report.slot,
    id: report.sessionId ?? null,
    resumed: report.resumed,
    ...(report.freshReason ? { freshReason: report.freshReason } : {}),
  };
}

/** Which worktree a launch used: workspace-relative folder, branch and the run commit it started from. */
function worktreeRecord(request: AgentStepRequest) {
  const { path: where, branch, base } = request.worktree!;
  return { path: path.relative(request.run.workspace, where), branch, base };
}
