import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { activityInfo, Context, cancellationDetails } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { withoutForgeCredential } from '../forge/worker-forge';
import { type AgentRunners, type AgentRunResult, HarnessFatalError } from '../harnesses/runner';
import { workerSecretValues } from '../harnesses/secret-grants';
import { removeRunSessions } from '../harnesses/sessions';
import { DenyReadExposedError, PermissionRuleError, PolicyUnsupportedError } from '../policies/compile';
import { fillSecrets, Redactor, secretsOf } from '../policies/secrets';
import { askingRoutes } from '../shapes/agent-question';
import {
  type AgentStepRequest,
  type AgentStepResult,
  type CommandStepRequest,
  type CommandStepResult,
  type CompleteItemRequest,
  type CompleteItemWindowRequest,
  DENIALS_IN_RESULT,
  type LineWritten,
  type LostLaunch,
  RATE_LIMITED,
  type RateLimitDetails,
  type ReopenItemsRequest,
  type RunRef,
  WORKER_STOPPED,
  type WorkItem,
  type WorklistRequest,
  type WorklistWindow,
  type WorklistWindowRequest,
} from '../shapes/contract';
import { denialProblems } from '../shapes/denial-text';
import { executionFolder } from '../shapes/execution-folder';
import { MCP_CALLS_IN_RESULT } from '../shapes/mcp-call';
import { protocolProblems } from '../shapes/protocol';
import { RateLimitError } from '../shapes/rate-limit';
import { checkOutcomeQuestion } from './agent-question';
import { openSession, sessionReport } from './agent-session';
import { recordAnswer } from './answer-record';
import { ensureParentDir, inspectArtifacts, type ResolvedArtifact, resolveArtifacts } from './artifacts';
import { recordChildRun } from './child-record';
import { launchLine, sessionLine, writeLaunchEvidence } from './launch-record';
import { approvalsShown, LIVE_TAIL_MS, liveRecorderFor } from './live-view';
import { outcomeSchema, renderPrompt } from './prompt';
import {
  finishRunSummary,
  type RunEnd,
  type RunStamped,
  recordExecution,
  recordExecutionOnce,
} from './run-summary';
import { askThroughRun } from './tool-approval';
import { resolveInWorkspace } from './workspace-paths';
import { WORKTREES_FOLDER, worktreeActivities } from './worktrees';
import { auditWrites, headRef, snapshotWorkspace } from './write-audit';

const TAIL_LINES = 40;
const TAIL_BYTES = 4_096;
// often, so a cancellation (delivered in a heartbeat reply) reaches a quiet harness within seconds
const HEARTBEAT_MS = 2_000;

export interface InterpreterActivityDeps {
  /** harness adapters by provider; a provider without one fails the step with a clear message */
  runners: AgentRunners;
}

/**
 * A worker of the shared queue that cannot see the run's repo.path must not work elsewhere: the run fails
 * with what to do (every worker of a repo.path run sees that path; a fleet runs repo.url runs instead).
 */
function workspaceOnThisWorker(workspace: string): void {
  if (fs.existsSync(workspace) && fs.statSync(workspace).isDirectory()) return;
  throw ApplicationFailure.create({
    type: 'SopWorkspaceMissing',
    nonRetryable: true,
    message: `the workspace ${workspace} (repo.path) is not a directory on worker ${os.hostname()}: every worker of the task queue must see it, or start the run with repo.url`,
  });
}

/** A command step's `env:` with its secrets filled in (or a refusal naming the missing ones), and their redactor. */
function commandEnv(request: CommandStepRequest): {
  env: Record<string, string | undefined>;
  redactor: Redactor;
} {
  // a declared secret in the worker's own environment reaches a command only through its env:
  // (an undefined value is left out of the child's environment)
  const unset = Object.fromEntries((request.secrets ?? []).map((name) => [name, undefined]));
  if (!request.env) return { env: unset, redactor: new Redactor({}) };
  try {
    const values = workerSecretValues(secretsOf(request.env), `the command step ${request.step}`);
    return { env: { ...unset, ...fillSecrets(request.env, values) }, redactor: new Redactor(values) };
  } catch (err) {
    throw ApplicationFailure.create({
      type: 'SopConfigError',
      nonRetryable: true,
      message: (err as Error).message,
    });
  }
}

/** The interpreter's activities. Plain async functions over files; results carry paths and hashes. */
export function createInterpreterActivities(deps: InterpreterActivityDeps) {
  return {
    async runAgentStep(request: AgentStepRequest): Promise<AgentStepResult> {
      const started = Date.now();
      const runner = deps.runners[request.spec.provider];
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
      const artifacts = resolveOrFail(
        () => resolveArtifacts(request.artifacts, workspace, scope),
        request.step,
      );
      const lostLines = recordLostLaunches(request.run, request.lostLaunches);
      const launch = request.launch ?? activityInfo().attempt;
      const folder = executionFolder({ ...request, item: request.context.item }, request.execution, launch);
      const executionDir = path.join(runFolder, 'steps', folder);
      fs.mkdirSync(executionDir, { recursive: true });
      const context = Context.current();
      const workflowId =
        context.info.workflowExecution?.workflowId ?? `${request.run.sop}/${request.run.taskId}`;
      // what the launch got to, for its record when the activity itself fails on the way
      const progress: { prompt?: string; run?: AgentRunResult } = {};
      try {
        return await launchHarness();
      } catch (err) {
        // runs that relaunch in the workflow: an unexpected error in the activity (not the harness's) is a
        // failed launch too, with its record; failures thrown on purpose and cancellations go up as they are
        if (
          !request.relaunchInWorkflow ||
          err instanceof ApplicationFailure ||
          context.cancellationSignal.aborted
        )
          throw err;
        return activityFailed(err);
      }

      async function launchHarness(): Promise<AgentStepResult> {
        const session = openSession(request, runner!, workflowId);
        // a resumed session has the task already: the new message is the contract and the feedback
        const prompt = renderPrompt(request, scope, artifacts, { continued: session?.resumed === true });
        fs.writeFileSync(path.join(executionDir, 'prompt.md'), prompt);
        progress.prompt = prompt;
        const transcriptPath = path.join(executionDir, 'transcript.jsonl');
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
        const before = snapshotWorkspace(workspace, unaudited, { policy: request.spec.policy });
        const branchRef = headRef(workspace);
        let run: AgentRunResult;
        let launchFailure: string | undefined;
        let rateLimit: RateLimitError | undefined;
        try {
          run = await runner!.run({
            request,
            spec: request.spec,
            prompt,
            outcomeSchema: schema,
            workspace,
            executionDir,
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
                  workflowId,
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
        } catch (err) {
          if (err instanceof RateLimitError) {
            // before the worker-loss patch Temporal's retries handle it: no record of its own
            if (!overtime) throw rateLimited(err);
            // a launch of its own (the run parks, then launches again): it gets its record below
            rateLimit = err;
            run = { usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } };
          } else if (
            err instanceof HarnessFatalError ||
            err instanceof PolicyUnsupportedError ||
            err instanceof PermissionRuleError ||
            err instanceof DenyReadExposedError
          ) {
            // retrying cannot help: fail the step now, with the reason and what to do
            throw ApplicationFailure.create({
              type: 'SopConfigError',
              nonRetryable: true,
              message: err.message,
            });
          } else if (context.cancellationSignal.aborted) {
            // a worker that drains on shutdown is a lost worker, not a failed launch
            if (cancellationDetails()?.workerShutdown) {
              throw ApplicationFailure.create({
                type: WORKER_STOPPED,
                message: 'the worker shut down while the harness ran',
              });
            }
            throw err;
          } else if (!overtime) throw err;
          else {
            // the harness failed (crash, hang, API error, step timeout): a result, so the workflow counts it
            launchFailure = overtime.signal.aborted
              ? `the harness ran longer than the step timeout (${Math.round(request.timeoutMs / 1000)} s) and was stopped`
              : err instanceof Error
                ? err.message
                : String(err);
            run = { usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } };
          }
        } finally {
          clearInterval(beat);
          if (overtimeTimer) clearTimeout(overtimeTimer);
        }
        // the harness's last actions, counted back from its end (the checks after it may take a while)
        const liveTail = live.tail(LIVE_TAIL_MS);
        run = checkOutcomeQuestion(run, request);
        progress.run = run;

        const reports = inspectArtifacts(artifacts);
        if (request.worktree) copyRunFolderArtifacts(artifacts, request.run.workspace);
        const writes = auditWrites(
          before,
          snapshotWorkspace(workspace, unaudited, { policy: request.spec.policy, since: before }),
          request.spec.policy,
          runFolderRel,
          branchRef,
        );
        const denials = run.denials ?? [];
        const violations = [...(run.violations ?? []), ...writes.violations];
        const sessionRecord = sessionReport(request, session, run);
        const recorded = writeLaunchEvidence({
          request,
          launch,
          started,
          executionDir,
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
            prompt: path.relative(runFolder, path.join(executionDir, 'prompt.md')),
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
          ...launchLine(request, folder, launch, started),
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
        result.lines = [...lostLines, line];
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
      function activityFailed(err: unknown): AgentStepResult {
        const launchFailure = `the runtime failed on this launch: ${(err as Error | undefined)?.message ?? String(err)}`;
        const run = progress.run ?? { usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 } };
        const line = {
          ...launchLine(request, folder, launch, started),
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
            launch,
            started,
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
                : path.relative(runFolder, path.join(executionDir, 'prompt.md')),
            transcript: recorded.transcript,
            evidence: recorded.evidence,
          },
          evidenceSha256: recorded.evidenceSha256,
          lines: [...lostLines, written],
          durationMs: recorded.durationMs,
        };
      }
    },

    async runCommandStep(request: CommandStepRequest): Promise<CommandStepResult> {
      const started = Date.now();
      const outputFile = path.join(
        request.run.runFolder,
        'steps',
        `${request.step}`,
        `${request.execution}-command.log`,
      );
      workspaceOnThisWorker(request.run.workspace);
      ensureParentDir(outputFile);
      const context = Context.current();
      const { env, redactor } = commandEnv(request);
      const beat = setInterval(() => context.heartbeat(), heartbeatEvery());
      try {
        const result = await execa(request.command, {
          shell: true,
          cwd: request.run.workspace,
          // the forge credential stays with the worker's own git and API calls; the step's env: (secrets
          // filled in) over it, and the SOP's declared secrets it does not refer to left out
          env: { ...withoutForgeCredential(), ...env },
          extendEnv: false,
          all: true,
          reject: false,
          stdin: 'ignore',
          timeout: request.timeoutMs,
          cancelSignal: context.cancellationSignal,
          maxBuffer: 64 * 1024 * 1024,
        });
        // a secret the command printed is not recorded (log, tail, next prompt)
        const output = redactor.text(result.all ?? '');
        fs.writeFileSync(outputFile, output);
        const exitCode = result.exitCode ?? (result.timedOut ? 124 : 1);
        const line = recordExecution(request.run, {
          kind: 'command',
          path: path.relative(request.run.runFolder, outputFile),
          step: request.step,
          startedAt: new Date(started).toISOString(),
          durationMs: Date.now() - started,
          exitCode,
        });
        return {
          exitCode,
          timedOut: Boolean(result.timedOut),
          outputFile: path.relative(request.run.runFolder, outputFile),
          outputSha256: createHash('sha256').update(output).digest('hex'),
          lines: [line],
          tail: tail(output),
          durationMs: Date.now() - started,
        };
      } finally {
        clearInterval(beat);
      }
    },

    recordAnswer,
    recordChildRun,
    ...worktreeActivities,

    /**
     * Stamps run.json with how the run ended (called once, at the end of the run). Returns what it stamped
     * and the file's sha256: a local activity's input is not in history, its result is.
     */
    async finishRun(request: { run: RunRef; end: RunEnd; lostLaunches?: LostLaunch[] }): Promise<RunStamped> {
      const lines = recordLostLaunches(request.run, request.lostLaunches);
      const runJsonSha256 = finishRunSummary(request.run, request.end);
      // a completed run resumes no session any more (a failed or cancelled one may be resumed: kept)
      if (request.end.status === 'completed') {
        const id = Context.current().info.workflowExecution?.workflowId;
        if (id) removeRunSessions(id);
      }
      return {
        end: request.end,
        runJsonSha256,
        lines,
        ...(request.lostLaunches?.length ? { lostLaunches: request.lostLaunches } : {}),
      };
    },

    async loadWorklistWindow(request: WorklistWindowRequest): Promise<WorklistWindow> {
      const items = readWorklist(request).list.map((entry) => toItem(entry, request));
      return windowOf(items, request);
    },

    async completeWorklistItemWindow(request: CompleteItemWindowRequest): Promise<WorklistWindow> {
      return windowOf(writeItemStatus(request), request);
    },

    /** Sets items back to pending so a rerun of their step does them again; returns the ids reopened. */
    async reopenWorklistItems(request: ReopenItemsRequest): Promise<{ reopened: string[] }> {
      const { file, document, list } = readWorklist(request);
      const { id, status } = request.worklist;
      const wanted = request.itemIds && new Set(request.itemIds);
      if (wanted) {
        const known = new Set(list.map((e) => String(e[id])));
        const unknown = [...wanted].filter((w) => !known.has(w));
        if (unknown.length > 0) {
          throw ApplicationFailure.create({
            type: 'SopWorklistError',
            nonRetryable: true,
            message: `worklist ${request.worklist.from.name} (${request.worklist.from.path}) has no item ${unknown.join(', ')}; its items: ${[...known].slice(0, 20).join(', ')}${known.size > 20 ? ', …' : ''}`,
          });
        }
      }
      const reopened: string[] = [];
      for (const entry of list) {
        if (wanted && !wanted.has(String(entry[id]))) continue;
        entry[status] = 'pending';
        reopened.push(String(entry[id]));
      }
      writeJsonAtomically(file, document);
      return { reopened };
    },

    /** Kept for runs started before the worklist-window patch: returns the whole list. */
    async loadWorklist(request: WorklistRequest): Promise<WorkItem[]> {
      return readWorklist(request).list.map((entry) => toItem(entry, request));
    },

    /** Kept for runs started before the worklist-window patch: returns the whole list. */
    async completeWorklistItem(request: CompleteItemRequest): Promise<WorkItem[]> {
      return writeItemStatus(request);
    },
  };
}

function windowOf(items: WorkItem[], request: { exclude: string[]; limit: number }): WorklistWindow {
  const excluded = new Set(request.exclude);
  return {
    pending: items.filter((i) => i.status !== 'done' && !excluded.has(i.id)).slice(0, request.limit),
    done: items.filter((i) => i.status === 'done').length,
    total: items.length,
  };
}

function writeItemStatus(request: CompleteItemRequest): WorkItem[] {
  const { file, document, list } = readWorklist(request);
  const { id, status } = request.worklist;
  const entry = list.find((e) => String(e[id]) === request.itemId);
  if (!entry) {
    throw ApplicationFailure.create({
      type: 'SopWorklistError',
      nonRetryable: true,
      message: `worklist ${request.worklist.from.name}: item ${request.itemId} is no longer in ${request.worklist.from.path}`,
    });
  }
  entry[status] = request.status;
  writeJsonAtomically(file, document);
  return list.map((e) => toItem(e, request));
}

function writeJsonAtomically(file: string, document: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(document, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

export type InterpreterActivities = ReturnType<typeof createInterpreterActivities>;

/** Often enough that a live activity never misses its heartbeat timeout. */
function heartbeatEvery(): number {
  const timeout = activityInfo().heartbeatTimeoutMs;
  return timeout ? Math.min(HEARTBEAT_MS, Math.max(200, timeout / 3)) : HEARTBEAT_MS;
}

/**
 * Launches whose worker was lost never wrote their own line: the workflow learns of them only when the
 * loss is detected, and hands them to the next launch (or to finishRun) to record.
 */
function recordLostLaunches(run: RunRef, lost: LostLaunch[] = []): LineWritten[] {
  return lost.map((l) => {
    const item = l.item === undefined ? undefined : { id: l.item };
    // a launch handed these before may have recorded them and died before its first heartbeat
    return recordExecutionOnce(run, {
      kind: 'agent',
      path: path.join(
        'steps',
        executionFolder({ step: l.step, role: l.role, attempt: l.attempt, item }, l.execution, l.launch),
      ),
      step: l.step,
      item: l.item ?? null,
      role: l.role,
      attempt: l.attempt,
      launch: l.launch,
      provider: l.provider,
      accepted: false,
      reason: `worker lost (${l.reason}): launched again`,
      workerLost: true,
      route: null,
      usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    });
  });
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

function readWorklist(request: WorklistRequest): {
  file: string;
  document: unknown;
  list: Array<Record<string, unknown>>;
} {
  const { from, collection } = request.worklist;
  const where = `worklist source ${from.name} (${from.path})`;
  const problem = (message: string) =>
    ApplicationFailure.create({
      type: 'SopWorklistError',
      nonRetryable: true,
      message: `${where}: ${message}`,
    });
  const runFolderRel = path.relative(request.run.workspace, request.run.runFolder);
  let file: string;
  try {
    const relative = from.path.replace(/\{\{\s*run\.folder\s*\}\}/g, runFolderRel);
    file = resolveInWorkspace(request.run.workspace, relative);
  } catch (err) {
    throw problem((err as Error).message);
  }
  if (!fs.existsSync(file)) throw problem('the file does not exist (the step that writes it has not run?)');
  let document: unknown;
  try {
    document = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw problem(`not valid JSON: ${(err as Error).message}`);
  }
  const list = (document as Record<string, unknown> | null)?.[collection];
  if (!Array.isArray(list)) throw problem(`"${collection}" is not an array`);
  for (const [index, entry] of list.entries()) {
    if (
      !entry ||
      typeof entry !== 'object' ||
      (entry as Record<string, unknown>)[request.worklist.id] === undefined
    ) {
      throw problem(`${collection}[${index}] has no "${request.worklist.id}"`);
    }
  }
  return { file, document, list: list as Array<Record<string, unknown>> };
}

function toItem(entry: Record<string, unknown>, request: WorklistRequest): WorkItem {
  const { id, title, status } = request.worklist;
  return {
    id: String(entry[id]),
    title: String(entry[title] ?? entry[id]),
    status: String(entry[status] ?? 'pending'),
  };
}

function tail(output: string): string {
  const lines = output.split('\n').slice(-TAIL_LINES).join('\n');
  return lines.length > TAIL_BYTES ? lines.slice(-TAIL_BYTES) : lines;
}
