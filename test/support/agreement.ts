// Issue 14: "`sop runs show`, `sop logs --events` and the final line agree with `executions.jsonl` and the
// evidence for every run in the test suite". Given a finished run, this reads every record of it — what
// `sop runs show --json` and `sop logs --events --json` print (through the functions those commands print,
// in-process, so checking every run stays cheap on a loaded machine), run.json, executions.jsonl, each
// evidence.json, the final line of the attached `sop run|resume|rerun` (when the CLI made the run) — and
// lists every disagreement on status, agent-run count, usage totals, routes and denied calls. It also checks
// the run folder as `sop verify --against-history` does, so every evidence record matches the hash Temporal
// recorded, and replays the run's history through the workflow code under test (replay-check.ts). Fields
// added to any record later are ignored: only the fields compared here are read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { SopClient } from '../../src/client';
import { workflowExecutions } from '../../src/client/executions';
import { fetchRunEvents } from '../../src/client/run-events';
import { gatherRunView } from '../../src/console/run-view';
import { readHistoryEvidence } from '../../src/evidence/history';
import { verifyRunFolder } from '../../src/evidence/verify';
import type { TemporalTarget } from '../../src/temporal/target';
import { replayProblems } from './replay-check';
import { testTarget } from './temporal';

export interface FinishedRun {
  sop: string;
  task: string;
  /** default: `<workspace>/.sop/runs/<sop>/<task>` with the workspace `sop runs show` reports */
  runFolder?: string;
  /** stdout and stderr of the attached `sop run|resume|rerun` that ended the run */
  cli?: { stdout: string; stderr: string };
}

interface Usage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  agentRuns?: number;
}
interface Route {
  step: string;
  item?: string | null;
  route: string;
  target?: string;
}
interface ExecutionLine {
  kind: 'agent' | 'command';
  path: string;
  step: string;
  item?: string | null;
  role?: string;
  route?: string | null;
  exitCode?: number;
  denials?: unknown[];
  usage?: Usage;
}
interface LogEvent {
  kind: string;
  text: string;
}

const ENDED = ['completed', 'failed', 'cancelled'];
/** routes the interpreter takes itself (src/workflows/interpreter/steps.ts) */
const RUNTIME_ROUTES = ['failed', 'rework_exhausted', 'missing_artifact', 'merge_conflict', 'timed_out'];
const AGENT_EVENT = / · (agent|producer|verifier) · (attempt|rework) \d+/;

const readJson = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));
const jsonLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));

function evidenceFiles(runFolder: string): string[] {
  const steps = path.join(runFolder, 'steps');
  if (!fs.existsSync(steps)) return [];
  return (
    (fs.readdirSync(steps, { recursive: true }) as string[])
      // an answer's record (`<n>-answer/`) is evidence of a person's answer, a child run's (`<n>-sop/`) of
      // the run a `kind: sop` step started, not of an agent execution
      .filter((f) => path.basename(f) === 'evidence.json' && !/-(answer|sop)$/.test(path.dirname(f)))
      .map((f) => path.join('steps', path.dirname(f)).split(path.sep).join('/'))
      .sort()
  );
}

/** The usage, status and denied calls the attached CLI printed last (text or --json). */
function finalLine(cli: { stdout: string; stderr: string }): {
  status?: string;
  usage?: Partial<Usage> & { tokens?: number };
  denied?: number;
  line: string;
} {
  const stdout = cli.stdout.trim();
  if (stdout.startsWith('{')) {
    const out = JSON.parse(stdout) as { status?: string; result?: { usage?: Usage; deniedCalls?: number } };
    return {
      status: out.status,
      usage: out.result?.usage,
      denied: out.result?.deniedCalls,
      line: 'the --json output',
    };
  }
  const lines = `${cli.stdout}\n${cli.stderr}`.split('\n');
  // the CLI's own last word: `<sop>/<task> completed: …` (stdout) or `error: <sop>/<task> failed: …` (stderr),
  // not a worker's log line that happens to say "Activity failed"
  const outcomeLine = /^(?:error: )?\S+\/\S+ (completed|failed|cancelled)\b/;
  const line = lines.findLast((l) => outcomeLine.test(l)) ?? '';
  const status = outcomeLine.exec(line)?.[1];
  const number = (re: RegExp) => {
    const m = re.exec(line);
    return m ? Number(m[1]) : undefined;
  };
  return {
    status,
    usage:
      status === 'completed'
        ? {
            agentRuns: number(/(\d+) agent runs?/),
            tokens: number(/(\d+) tokens/),
            costUsd: number(/\$(\d+(?:\.\d+)?)/),
          }
        : undefined,
    denied: number(/(\d+) denied tool calls?/),
    line,
  };
}

/** Every disagreement between the records of one finished run (empty when they agree). */
export async function disagreements(run: FinishedRun, target = testTarget()): Promise<string[]> {
  const client = await SopClient.connect({ target, startDevServer: false });
  try {
    const workflowId = `${run.sop}/${run.task}`;
    const show = (await gatherRunView(client, run.sop, run.task)) as unknown as Shown;
    const events = (await fetchRunEvents(client.client, client.getHandle(run.sop, run.task))) as LogEvent[];
    const folder =
      run.runFolder ??
      // a child run of a `kind: sop` step (workflow id `<parent-id>/<step>`): its own SOP and task
      (show.workspace
        ? path.join(show.workspace, '.sop', 'runs', show.sop ?? run.sop, show.task ?? run.task)
        : undefined);
    const problems = compare(run, show, events, folder);
    // every evidence record is the one Temporal history holds (`sop verify --against-history`)
    if (folder && fs.existsSync(folder)) {
      const verified = verifyRunFolder(folder, await readHistoryEvidence(client.client, workflowId));
      for (const problem of verified.problems) problems.push(`sop verify --against-history: ${problem}`);
    }
    problems.push(...(await replayProblems(client.client, workflowId)));
    return problems;
  } finally {
    await client.close();
  }
}

interface Shown {
  sop?: string;
  task?: string;
  status: string;
  workspace?: string | null;
  usage?: Usage;
  routesTaken?: Route[];
  deniedCalls?: number;
}

function compare(run: FinishedRun, show: Shown, events: LogEvent[], runFolder: string | undefined): string[] {
  const problems: string[] = [];
  const differ = (what: string, values: Record<string, unknown>) => {
    const known = Object.entries(values).filter(([, v]) => v !== undefined);
    const first = JSON.stringify(known[0]?.[1]);
    if (known.some(([, v]) => JSON.stringify(v) !== first))
      problems.push(`${what} disagree: ${known.map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')}`);
  };

  // status
  if (!ENDED.includes(show.status)) return [`the run has not ended: sop runs show says ${show.status}`];
  const summary =
    runFolder && fs.existsSync(path.join(runFolder, 'run.json'))
      ? (readJson(path.join(runFolder, 'run.json')) as {
          status?: string;
          usage?: Usage;
          routesTaken?: Route[];
          deniedCalls?: number;
        })
      : undefined;
  const lastEnd = [...events].reverse().find((e) => /^run (completed|failed|cancelled)$/.test(e.kind));
  const final = run.cli ? finalLine(run.cli) : undefined;
  differ('run status', {
    'sop runs show': show.status,
    'run.json': summary?.status,
    'sop logs --events': lastEnd?.kind.slice(4),
    'the final line': final?.status,
  });

  // executions and evidence
  const executions =
    runFolder && fs.existsSync(path.join(runFolder, 'executions.jsonl'))
      ? (jsonLines(fs.readFileSync(path.join(runFolder, 'executions.jsonl'), 'utf8')) as ExecutionLine[])
      : [];
  const agentLines = executions.filter((e) => e.kind === 'agent');
  const evidence = runFolder ? evidenceFiles(runFolder) : [];
  // Lines without an evidence.json: a launch whose worker died (its line is written by the next launch;
  // `sop logs --events` shows it as "worker lost").
  const noEvidence = (e: ExecutionLine) => (e as { workerLost?: unknown }).workerLost === true;
  const linePaths = agentLines
    .filter((e) => !noEvidence(e))
    .map((e) => e.path)
    .sort();
  if (JSON.stringify(linePaths) !== JSON.stringify(evidence))
    problems.push(
      `executions.jsonl agent lines and evidence folders differ: only in executions.jsonl ${JSON.stringify(linePaths.filter((p) => !evidence.includes(p)))}, only as evidence ${JSON.stringify(evidence.filter((p) => !linePaths.includes(p)))}`,
    );
  let evidenceDenials = 0;
  for (const line of agentLines) {
    const file = path.join(runFolder!, line.path, 'evidence.json');
    if (!fs.existsSync(file)) continue;
    const record = readJson(file) as {
      step: string;
      usage: Usage;
      outcome?: { route?: string } | null;
      denials?: unknown[];
    };
    evidenceDenials += record.denials?.length ?? 0;
    differ(`${line.path}: step`, { 'executions.jsonl': line.step, 'evidence.json': record.step });
    differ(`${line.path}: route`, {
      'executions.jsonl': line.route ?? null,
      'evidence.json': record.outcome?.route ?? null,
    });
    differ(`${line.path}: usage`, { 'executions.jsonl': line.usage, 'evidence.json': record.usage });
    differ(`${line.path}: denied calls`, {
      'executions.jsonl': line.denials?.length ?? 0,
      'evidence.json': record.denials?.length ?? 0,
    });
  }

  // agent runs and usage totals
  const sum = agentLines.reduce(
    (acc, e) => ({
      inputTokens: acc.inputTokens + (e.usage?.inputTokens ?? 0),
      outputTokens: acc.outputTokens + (e.usage?.outputTokens ?? 0),
      costUsd: acc.costUsd + (e.usage?.costUsd ?? 0),
    }),
    { inputTokens: 0, outputTokens: 0, costUsd: 0 },
  );
  // a launch that failed (crash, hang, timeout, API error) or that the provider rate-limited is an agent run too
  const launches = events.filter(
    (e) =>
      (e.kind === 'step finished' || e.kind === 'launch failed' || e.kind === 'rate limited') &&
      AGENT_EVENT.test(e.text),
  );
  const agentEvents = launches.filter((e) => e.kind === 'step finished');
  differ('agent runs', {
    'sop runs show': show.usage?.agentRuns,
    'run.json': summary?.usage?.agentRuns,
    'executions.jsonl': agentLines.length,
    'evidence folders': evidence.length + (agentLines.length - linePaths.length),
    'sop logs --events': launches.length + (agentLines.length - linePaths.length),
    'the final line': final?.usage?.agentRuns,
  });
  const tokens = (u?: Usage) => (u ? { in: u.inputTokens, out: u.outputTokens } : undefined);
  differ('tokens', {
    'sop runs show': tokens(show.usage),
    'run.json': tokens(summary?.usage),
    'executions.jsonl': tokens(sum),
  });
  if (final?.usage?.tokens !== undefined)
    differ('total tokens', {
      'executions.jsonl': sum.inputTokens + sum.outputTokens,
      'the final line': final.usage.tokens,
    });
  const cents = (u?: { costUsd?: number }) => (u?.costUsd === undefined ? undefined : u.costUsd.toFixed(4));
  differ('cost', {
    'sop runs show': cents(show.usage),
    'run.json': cents(summary?.usage),
    'executions.jsonl': cents(sum),
    'the final line': cents(final?.usage),
  });
  const lineDenials = agentLines.reduce((n, e) => n + (e.denials?.length ?? 0), 0);
  differ('denied calls', {
    'sop runs show': show.deniedCalls,
    'run.json': summary?.deniedCalls,
    'executions.jsonl': lineDenials,
    'evidence.json': evidenceDenials,
    'the final line': final?.denied,
  });

  // routes: each route an agent chose for a step is one of its recorded executions' (routes the runtime
  // takes itself — failure paths, exhausted rework, a missing producer artifact, an input timeout — and a
  // person's approval after exhausted rework are not an execution's choice)
  differ('routes taken', { 'sop runs show': show.routesTaken, 'run.json': summary?.routesTaken });
  const answered = events.some((e) => e.kind === 'input answered');
  for (const r of show.routesTaken ?? summary?.routesTaken ?? []) {
    const ran = agentLines.filter((e) => e.step === r.step && (e.item ?? null) === (r.item ?? null));
    if (ran.length === 0 || RUNTIME_ROUTES.includes(r.route)) continue;
    const chosen = ran.some((e) => e.route === r.route);
    if (!chosen && answered) continue;
    const where = `${r.step}${r.item ? ` [${r.item}]` : ''}: route ${r.route}`;
    if (!chosen)
      problems.push(`${where} is in the routes taken, but no execution in executions.jsonl chose it`);
    const label = [r.step, r.item].filter(Boolean).join(' · ');
    if (!agentEvents.some((e) => e.text.startsWith(`${label} · `) && e.text.includes(`→ route ${r.route}`)))
      problems.push(`${where} is in the routes taken, but sop logs --events shows no execution choosing it`);
  }

  return problems;
}

/**
 * Every run a task queue ran that has ended (completed, failed or cancelled) — what `withWorker` checks after
 * each test's work, so runs the tests make through SopClient or the raw client are checked too. Runs still
 * going or terminated by the test are not finished runs; workflows that are not SOP runs are skipped.
 */
export async function expectAgreementOnQueue(
  client: Client,
  taskQueue: string,
  target: TemporalTarget,
): Promise<void> {
  const escaped = taskQueue.replace(/"/g, '\\"');
  const ids = new Set<string>();
  for await (const info of client.workflow.list({ query: `TaskQueue = "${escaped}"` }))
    if (info.type !== 'smokeWorkflow') ids.add(info.workflowId);
  const problems: string[] = [];
  for (const workflowId of ids) {
    const slash = workflowId.indexOf('/');
    if (slash <= 0) continue;
    const handle = client.workflow.getHandle(workflowId);
    const described = await handle.describe();
    if (!['COMPLETED', 'FAILED', 'CANCELLED'].includes(described.status.name)) continue;
    const sop = workflowId.slice(0, slash);
    const task = workflowId.slice(slash + 1);
    const found = await disagreements(
      { sop, task, runFolder: await startedRunFolder(client, workflowId) },
      target,
    );
    problems.push(...found.map((p) => `${workflowId}: ${p}`));
  }
  if (problems.length > 0)
    throw new Error(`the records of runs on task queue ${taskQueue} disagree:\n- ${problems.join('\n- ')}`);
}

/**
 * The run folder the run's first execution was started with (runs started without a workspace memo): its
 * run request's repo.path, or the run folder of a plan input (runs recorded before the run request).
 */
async function startedRunFolder(client: Client, workflowId: string): Promise<string | undefined> {
  const [first] = await workflowExecutions(client, workflowId);
  const history = await client.workflow.getHandle(workflowId, first).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  if (!payload) return undefined;
  const input = defaultPayloadConverter.fromPayload(payload as never) as
    | { run?: { runFolder?: unknown }; sop?: string; task?: string; repo?: { path?: unknown } }
    | undefined;
  if (typeof input?.repo?.path === 'string' && input.sop) {
    const task = input.task ?? workflowId.slice(input.sop.length + 1);
    return path.join(input.repo.path, '.sop', 'runs', input.sop, task);
  }
  return typeof input?.run?.runFolder === 'string' ? input.run.runFolder : undefined;
}

/** Fails (listing every disagreement) unless all records of the run agree. */
export async function expectAgreement(run: FinishedRun): Promise<void> {
  const problems = await disagreements(run);
  if (problems.length > 0)
    throw new Error(`the records of ${run.sop}/${run.task} disagree:\n- ${problems.join('\n- ')}`);
}
