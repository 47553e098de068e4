// `run.json` in the run folder: a reviewer's summary of the run, rebuilt from the evidence files after
// every execution and stamped with the final status when the run ends. Nothing reads it to resume:
// Temporal is the source of truth; this is for people and tools looking at the folder.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRef } from './contract';

export interface RunSummaryExecution {
  folder: string;
  step: string;
  item: string | null;
  role: string;
  attempt: number;
  provider: string;
  startedAt: string;
  durationMs: number;
  route: string | null;
  outcomeError: string | null;
  violations: string[];
  denials: string[];
  usage: { inputTokens: number; outputTokens: number; costUsd: number };
}

export interface RunEnd {
  status: 'completed' | 'failed' | 'cancelled';
  failure?: string;
  routesTaken: Array<{ step: string; item?: string; route: string; target: string }>;
  usage: { inputTokens: number; outputTokens: number; costUsd: number; agentRuns: number };
}

/** Rewrites run.json from the evidence on disk (atomic replace; concurrent writers converge). */
export function writeRunSummary(run: RunRef, end?: RunEnd): string {
  const file = path.join(run.runFolder, 'run.json');
  const stepsDir = path.join(run.runFolder, 'steps');
  const executions: RunSummaryExecution[] = [];
  const commands: Array<{ step: string; log: string }> = [];
  if (fs.existsSync(stepsDir)) {
    for (const rel of (fs.readdirSync(stepsDir, { recursive: true }) as string[]).sort()) {
      if (rel.endsWith('-command.log')) {
        commands.push({ step: rel.split(path.sep)[0], log: path.join('steps', rel) });
        continue;
      }
      if (path.basename(rel) !== 'evidence.json') continue;
      try {
        const e = JSON.parse(fs.readFileSync(path.join(stepsDir, rel), 'utf8'));
        executions.push({
          folder: path.join('steps', path.dirname(rel)),
          step: e.step,
          item: e.item ?? null,
          role: e.role,
          attempt: e.attempt,
          provider: e.provider,
          startedAt: e.startedAt,
          durationMs: e.durationMs,
          route: e.outcome?.route ?? null,
          outcomeError: e.outcomeError ?? null,
          violations: e.violations ?? [],
          denials: e.denials ?? [],
          usage: e.usage,
        });
      } catch {
        // an evidence file being written right now: the next rewrite picks it up
      }
    }
  }
  executions.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  let previous: { status?: string; startedAt?: string } = {};
  try {
    previous = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    // first write
  }
  const spent = executions.reduce(
    (sum, e) => ({
      inputTokens: sum.inputTokens + (e.usage?.inputTokens ?? 0),
      outputTokens: sum.outputTokens + (e.usage?.outputTokens ?? 0),
      costUsd: sum.costUsd + (e.usage?.costUsd ?? 0),
    }),
    { inputTokens: 0, outputTokens: 0, costUsd: 0 },
  );
  const summary = {
    sop: run.sop,
    task: run.taskId,
    workspace: run.workspace,
    status: end?.status ?? 'running',
    failure: end?.failure ?? null,
    startedAt: previous.startedAt ?? executions[0]?.startedAt ?? new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    usage: end ? end.usage : { ...spent, agentRuns: executions.length },
    routesTaken: end?.routesTaken ?? null,
    executions,
    commands,
  };
  fs.mkdirSync(run.runFolder, { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(summary, null, 2)}\n`);
  fs.renameSync(tmp, file);
  return file;
}
