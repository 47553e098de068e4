// The agent step activity: one launch of a harness for one role of a step. It prepares the launch (run
// folder, artifacts, records of lost launches), runs the harness with heartbeats and the step timeout,
// audits what it wrote, and records the launch (evidence, executions.jsonl) whatever the harness did.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { activityInfo, Context, cancellationDetails } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  type AgentRunner,
  type AgentRunners,
  type AgentRunResult,
  HarnessFatalError,
} from '../harnesses/runner';
import { DenyReadExposedError, PermissionRuleError, PolicyUnsupportedError } from '../policies/compile';
import { askingRoutes } from '../shapes/agent-question';
import {
  type AgentStepRequest,
  type AgentStepResult,
  DENIALS_IN_RESULT,
  type LineWritten,
  RATE_LIMITED,
  type RateLimitDetails,
  WORKER_STOPPED,
} from '../shapes/contract';
import { denialProblems } from '../shapes/denial-text';
import { executionFolder } from '../shapes/execution-folder';
import type { LiveActivity } from '../shapes/live-activity';
import { MCP_CALLS_IN_RESULT } from '../shapes/mcp-call';
import { protocolProblems } from '../shapes/protocol';
import { RateLimitError } from '../shapes/rate-limit';
import { checkOutcomeQuestion } from './agent-question';
import { type OpenedSession, openSession, sessionReport } from './agent-session';
import { ensureParentDir, inspectArtifacts, type ResolvedArtifact, resolveArtifacts } from './artifacts';
import { launchLine, sessionLine, writeLaunchEvidence } from './launch-record';
import { approvalsShown, liveRecorderFor } from './live-view';
import { outcomeSchema, renderPrompt } from './prompt';
import { recordExecution } from './run-summary';
import { keepAfterSnapshot, reuseWindowMsDefault, snapshotBefore } from './snapshot-reuse';
import { heartbeatEvery, recordLostLaunches, workspaceOnThisWorker } from './step-support';
import { askThroughRun } from './tool-approval';
import { WORKTREES_FOLDER } from './worktrees';
import { auditWrites, headRef, type Snapshot, snapshotWorkspace } from './write-audit';

const NO_USAGE = () => ({ inputTokens: 0, outputTokens: 0, costUsd: 0 });

/** One launch: what it needs, resolved before the harness starts, and how far it got. */
interface Launch {
  request: AgentStepRequest;
  runner: AgentRunner;
  started: number;
  /** where the agent works: the run's workspace, or the item's worktree (same relative layout) */
  workspace: string;
  runFolderRel: string;
  /** paths the write audit leaves out: the run folder and the other items' worktrees */
  unaudited: string[];
  scope: Record<string, unknown>;
  artifacts: ResolvedArtifact[];
  /** the lines of lost launches this launch recorded */
  lostLines: LineWritten[];
  launch: number;
  folder: string;
  executionDir: string;
  context: Context;
  workflowId: string;
  /** what the launch got to, for its record when the activity itself fails on the way */
  progress: { prompt?: string; run?: AgentRunResult };
}

/** What the harness did: its result, or why the launch failed or was rate limited (both recorded). */
interface HarnessOutcome {
  run: AgentRunResult;
  launchFailure?: string;
  rateLimit?: RateLimitError;
  before: Snapshot;
  branchRef: string | undefined;
  /** the live view as the harness ended (its ring of last actions), taken before the checks after it */
  liveTail?: LiveActivity;
}

export async function runAgentStep(
  runners: AgentRunners,
  request: AgentStepRequest,
): Promise<AgentStepResult> {
  const launch = prepareLaunch(runners, request);
  try {
    return await launchHarness(launch);
  } catch (err) {
    // runs that relaunch in the workflow: an unexpected error in the activity (not the harness's) is a
    // failed launch too, with its record; failures thrown on purpose and cancellations go up as they are
    if (
      !request.relaunchInWorkflow ||
      err instanceof ApplicationFailure ||
      launch.context.cancellationSignal.aborted
    )
      throw err;
    return activityFailed(launch, err);
  }
}

function prepareLaunch(runners: AgentRunners, request: AgentStepRequest): Launch {
  const started = Date.now();
  const runner = runners[request.spec.provider];
  if (!runner) {
    throw ApplicationFailure.create({
      type: 'SopConfigError',
      nonRetryable: true,
      message: `no harness adapter is configured for provider "${request.spec.provider}" (step ${request.step})`,
    });
  }
  const { runFolder } = request.run;
  workspaceOnThisWorker(request.run.workspace);
  // parallel work: the agent works, and is audited, in its own worktree (same relative layout)
  const workspace = request.worktree?.path ?? request.run.workspace;
  const runFolderRel = path.relative(request.run.workspace, runFolder);
  // the other items' worktrees are theirs: never charged to this execution
  const unaudited = [runFolderRel, WORKTREES_FOLDER];
  const scope = {
    ...request.context,
    run: { folder: runFolderRel, sop: request.run.sop, task: request.run.taskId },
  };
  const artifacts = resolveOrFail(() => resolveArtifacts(request.artifacts, workspace, scope), request.step);
  const lostLines = recordLostLaunches(request.run, request.lostLaunches);
  const launch = request.launch ?? activityInfo().attempt;
  const folder = executionFolder({ ...request, item: request.context.item }, request.execution, launch);
  const executionDir = path.join(runFolder, 'steps', folder);
  fs.mkdirSync(executionDir, { recursive: true });
  const context = Context.current();
  const workflowId = context.info.workflowExecution?.workflowId ?? `${request.run.sop}/${request.run.taskId}`;
  return {
    request,
    runner,
    started,
    workspace,
    runFolderRel,
    unaudited,
    scope,
    artifacts,
    lostLines,
    launch,
    folder,
    executionDir,
    context,
    workflowId,
    progress: {},
  };
}

async function launchHarness(l: Launch): Promise<AgentStepResult> {
  const session = openSession(l.request, l.runner, l.workflowId);
  // a resumed session has the task already: the new message is the contract and the feedback
  const prompt = renderPrompt(l.request, l.scope, l.artifacts, { continued: session?.resumed === true });
  fs.writeFileSync(path.join(l.executionDir, 'prompt.md'), prompt);
  l.progress.prompt = prompt;
  const outcome = await runHarness(l, session, prompt);
  outcome.run = checkOutcomeQuestion(outcome.run, l.request);
  l.progress.run = outcome.run;
  return recordLaunch(l, session, prompt, outcome);
}

/** Runs the harness with heartbeats (and the step timeout when the workflow relaunches). */
async function runHarness(
  l: Launch,
  session: OpenedSession | undefined,
  prompt: string,
): Promise<HarnessOutcome> {
  const { request, context, workspace } = l;
  const transcriptPath = path.join(l.executionDir, 'transcript.jsonl');
  const schema = outcomeSchema(
    request.role === 'producer' ? ['done'] : request.routes.map((r) => r.name),
    request.role === 'producer' ? [] : askingRoutes(request.routes),
    request.role === 'producer' ? undefined : request.deliver,
  );
  // the heartbeat details are the live view: what the agent does, readable by any client
  const live = liveRecorderFor(request);
  const heartbeat = () => context.heartbeat(live.details());
  heartbeat();
  const beat = setInterval(
    heartbeat,
    // a live worker must never look lost: well within a short heartbeat timeout too
    heartbeatEvery(),
  );
  // runs that relaunch in the workflow enforce the step timeout here: Temporal's start-to-close
  // timeout, a little longer, then only fires when the worker itself is gone
  const overtime = request.relaunchInWorkflow ? new AbortController() : undefined;
  const overtimeTimer = overtime && setTimeout(() => overtime.abort(), request.timeoutMs);
  const before = snapshotBefore(workspace, l.unaudited, { policy: request.spec.policy });
  const branchRef = headRef(workspace);
  try {
    const run = await l.runner.run({
      request,
      spec: request.spec,
      prompt,
      outcomeSchema: schema,
      workspace,
      executionDir: l.executionDir,
      transcriptPath,
      signal: overtime
        ? AbortSignal.any([context.cancellationSignal, overtime.signal])
        : context.cancellationSignal,
      heartbeat,
      live,
      ...(session?.execution ? { session: session.execution } : {}),
      approveToolCall: approvalsShown(live, heartbeat, (toolCall, timeoutMs) =>
        askThroughRun(
          {
            client: context.client,
            workflowId: l.workflowId,
            step: request.step,
            item: request.context.item?.id,
            role: request.role,
            attempt: request.attempt,
            signal: context.cancellationSignal,
          },
          toolCall,
          timeoutMs,
        ),
      ),
    });
    return { run, before, branchRef, liveTail: live.final() };
  } catch (err) {
    return { ...harnessFailed(l, err, overtime), before, branchRef, liveTail: live.final() };
  } finally {
    clearInterval(beat);
    if (overtimeTimer) clearTimeout(overtimeTimer);
  }
}

/**
 * The harness threw: failures retrying cannot help and cancellations go up; with the workflow relaunching,
 * a rate limit or a failed launch is a result of its own (recorded, counted by the workflow).
 */
function harnessFailed(
  l: Launch,
  err: unknown,
  overtime: AbortController | undefined,
): Pick<HarnessOutcome, 'run' | 'launchFailure' | 'rateLimit'> {
  const { request, context } = l;
  if (err instanceof RateLimitError) {
    // before the worker-loss patch Temporal's retries handle it: no record of its own
    if (!overtime) throw rateLimited(err);
    // a launch of its own (the run parks, then launches again): it gets its record below
    return { rateLimit: err, run: { usage: NO_USAGE() } };
  }
  if (
    err instanceof HarnessFatalError ||
    err instanceof PolicyUnsupportedError ||
    err instanceof PermissionRuleError ||
    err instanceof DenyReadExposedError
  ) {
    // retrying cannot help: fail the step now, with the reason and what to do
    throw ApplicationFailure.create({ type: 'SopConfigError', nonRetryable: true, message: err.message });
  }
  if (context.cancellationSignal.aborted) {
    // a worker that drains on shutdown is a lost worker, not a failed launch
    if (cancellationDetails()?.workerShutdown) {
      throw ApplicationFailure.create({
        type: WORKER_STOPPED,
        message: 'the worker shut down while the harness ran',
      });
    }
    throw err;
  }
  if (!overtime) throw err;
  // the harness failed (crash, hang, API error, step timeout): a result, so the workflow counts it
  const launchFailure = overtime.signal.aborted
    ? `the harness ran longer than the step timeout (${Math.round(request.timeoutMs / 1000)} s) and was stopped`
    : err instanceof Error
      ? err.message
      : String(err);
  return { launchFailure, run: { usage: NO_USAGE() } };
}

/** Audits the workspace, writes the launch's evidence and its line in executions.jsonl, returns the result. */
function recordLaunch(
  l: Launch,
  session: OpenedSession | undefined,
  prompt: string,
  { run, launchFailure, rateLimit, before, branchRef, liveTail }: HarnessOutcome,
): AgentStepResult {
  const { request, artifacts, workspace } = l;
  const reports = inspectArtifacts(artifacts);
  if (request.worktree) copyRunFolderArtifacts(artifacts, request.run.workspace);
  const after = snapshotWorkspace(workspace, l.unaudited, {
    policy: request.spec.policy,
    since: before,
    refreshIndex: reuseWindowMsDefault() > 0,
  });
  keepAfterSnapshot(workspace, l.unaudited, request.spec.policy, after);
  const writes = auditWrites(before, after, request.spec.policy, l.runFolderRel, branchRef);
  const denials = run.denials ?? [];
  const violations = [...(run.violations ?? []), ...writes.violations];
  const sessionRecord = sessionReport(request, session, run);
  const recorded = writeLaunchEvidence({
    request,
    launch: l.launch,
    started: l.started,
    executionDir: l.executionDir,
    prompt,
    run,
    launchFailure,
    rateLimited: rateLimit && { untilMs: rateLimit.resetAtMs, message: rateLimit.message },
    artifacts: reports,
    violations,
    writes: writes.record,
    session: sessionRecord,
  });
  const result: AgentStepResult = {
    outcome: run.outcome,
    outcomeError: run.outcomeError,
    ...(launchFailure === undefined ? {} : { launchFailure }),
    artifacts: reports,
    violations,
    denials: denials.slice(0, DENIALS_IN_RESULT),
    deniedCalls: denials.length,
    ...(run.mcpCalls?.length
      ? {
          mcpCalls: run.mcpCalls.slice(0, MCP_CALLS_IN_RESULT),
          mcpCallCount: {
            calls: run.mcpCalls.length,
            denied: run.mcpCalls.filter((c) => c.denied).length,
          },
        }
      : {}),
    usage: run.usage,
    provider: request.spec.provider,
    sessionId: run.sessionId,
    ...(sessionRecord ? { session: sessionRecord } : {}),
    files: {
      prompt: path.relative(request.run.runFolder, path.join(l.executionDir, 'prompt.md')),
      transcript: recorded.transcript,
      evidence: recorded.evidence,
    },
    evidenceSha256: recorded.evidenceSha256,
    durationMs: recorded.durationMs,
  };
  if (liveTail) result.live = liveTail;
  const problems = rateLimit
    ? [`rate limited: ${rateLimit.message}`]
    : launchFailure === undefined
      ? executionProblems(result, request)
      : [launchFailure];
  const line = recordExecution(request.run, {
    ...launchLine(request, l.folder, l.launch, l.started),
    accepted: problems.length === 0,
    reason: problems.length === 0 ? null : problems.join('; '),
    route: run.outcome?.route ?? null,
    outcomeError: run.outcomeError ?? null,
    launchFailure: launchFailure ?? null,
    ...(rateLimit ? { rateLimitedUntil: new Date(rateLimit.resetAtMs).toISOString() } : {}),
    violations: result.violations,
    denials,
    ...(run.approvals?.length
      ? {
          toolApprovals: run.approvals.map((a) => ({
            tool: a.tool,
            approved: a.approved,
            by: a.by ?? null,
            ...(a.timedOut ? { timedOut: true } : {}),
          })),
        }
      : {}),
    ...(run.mcpCalls?.length ? { mcpCalls: run.mcpCalls } : {}),
    usage: run.usage,
    ...(sessionRecord ? { session: sessionLine(sessionRecord) } : {}),
  });
  result.lines = [...l.lostLines, line];
  // the workflow parks the run; the failure carries the launch's record for history readers
  if (rateLimit)
    throw rateLimited(rateLimit, {
      evidence: recorded.evidence,
      evidenceSha256: recorded.evidenceSha256,
      lines: result.lines,
    });
  return result;
}

/** The activity failed on the launch (not the harness): recorded as a failed launch, launched again. */
function activityFailed(l: Launch, err: unknown): AgentStepResult {
  const { request, progress, executionDir } = l;
  const launchFailure = `the runtime failed on this launch: ${(err as Error | undefined)?.message ?? String(err)}`;
  const run = progress.run ?? { usage: NO_USAGE() };
  const line = {
    ...launchLine(request, l.folder, l.launch, l.started),
    accepted: false,
    reason: launchFailure,
    route: run.outcome?.route ?? null,
    outcomeError: run.outcomeError ?? null,
    launchFailure,
    violations: [],
    denials: run.denials ?? [],
    usage: run.usage,
  };
  let recorded: ReturnType<typeof writeLaunchEvidence>;
  try {
    recorded = writeLaunchEvidence({
      request,
      launch: l.launch,
      started: l.started,
      executionDir,
      prompt: progress.prompt,
      run,
      launchFailure,
      artifacts: [],
      violations: [],
      writes: null,
    });
  } catch {
    // not even the record could be written: the line says so, and the workflow counts the failure
    recordExecution(request.run, line);
    throw err;
  }
  const written = recordExecution(request.run, line);
  const denials = run.denials ?? [];
  return {
    outcome: run.outcome,
    outcomeError: run.outcomeError,
    launchFailure,
    artifacts: [],
    violations: [],
    denials: denials.slice(0, DENIALS_IN_RESULT),
    deniedCalls: denials.length,
    usage: run.usage,
    provider: request.spec.provider,
    sessionId: run.sessionId,
    files: {
      prompt:
        progress.prompt === undefined
          ? ''
          : path.relative(request.run.runFolder, path.join(executionDir, 'prompt.md')),
      transcript: recorded.transcript,
      evidence: recorded.evidence,
    },
    evidenceSha256: recorded.evidenceSha256,
    lines: [...l.lostLines, written],
    durationMs: recorded.durationMs,
  };
}

/** The workflow's verdict on this execution, computed the same way (for executions.jsonl). */
function executionProblems(result: AgentStepResult, request: AgentStepRequest): string[] {
  const routes =
    request.role === 'producer'
      ? [{ name: 'done', target: { kind: 'finish' as const }, requires: request.spec.writes }]
      : request.routes;
  return protocolProblems(
    result,
    routes,
    request.role,
    request.writtenByProducer ?? {},
    request.ownedByProducer ?? [],
  )
    .filter((p) => !p.finding)
    .map((p) => p.problem)
    .concat(denialProblems(result, request.spec));
}

/** The failure that parks the run until the provider's reset time (with the launch's record, if any). */
function rateLimited(
  err: RateLimitError,
  record?: { evidence: string; evidenceSha256: string; lines: LineWritten[] },
) {
  const details: RateLimitDetails = { resetAtMs: err.resetAtMs, message: err.message, ...record };
  return ApplicationFailure.create({
    type: RATE_LIMITED,
    nonRetryable: true,
    message: err.message,
    details: [details],
  });
}

/**
 * Artifacts in the run folder that an agent wrote in its worktree are copied to the run folder (later
 * steps, the worklist and the evidence pack read them there); other artifacts are merged with git.
 */
function copyRunFolderArtifacts(artifacts: ResolvedArtifact[], workspace: string): void {
  for (const artifact of artifacts) {
    if (!artifact.relative.startsWith(`.sop${path.sep}`) || !fs.existsSync(artifact.absolute)) continue;
    const target = path.join(workspace, artifact.relative);
    ensureParentDir(target);
    fs.copyFileSync(artifact.absolute, target);
  }
}

function resolveOrFail<T>(fn: () => T, step: string): T {
  try {
    return fn();
  } catch (err) {
    throw ApplicationFailure.create({
      type: 'SopConfigError',
      nonRetryable: true,
      message: `step ${step}: ${(err as Error).message}`,
    });
  }
}
