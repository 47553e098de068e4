import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { CURRENT_ENGINE } from '../shapes/engine-version';
import { parentFromMemo } from '../shapes/lineage';
import { WAITING_IN_MEMO_KEY, WaitingInSchema } from '../shapes/message-args';
import {
  answerUpdate,
  checkpointQuery,
  messageSignal,
  type RunStatusView,
  statusQuery,
} from '../shapes/messages';
import { QUOTA_MEMO_KEY, QUOTA_WORKFLOW_TYPE, type QuotaView, quotaViewQuery } from '../shapes/quota';
import type { Rerun, RunCheckpoint, RunInput, RunResult, RunStatus } from '../shapes/run';
import { parseRunRequest, type RunRequest } from '../shapes/run-request';
import type { SopBundle } from '../sop/compile';
import { planRun } from '../sop/resolve';
import { summarizeInput } from '../sop/run-input';
import type { TypedInput } from '../sop/typed';
import { type ConnectOptions, connectClient } from '../temporal/connect';
import {
  SOP_STATUSES,
  SopKind,
  SopName,
  SopParent,
  SopStatus,
  SopTaskId,
} from '../temporal/search-attributes';
import { type TemporalTarget, workflowUiLink } from '../temporal/target';
import { RestartRefusedError, RunExistsError, RunNotFoundError } from './errors';
import { liveWorkers, type WorkerPoller } from './workers';

/**
 * `start(sop, request)`: a run request without its `sop` (the SOP's name, or its bundle, is the first
 * argument); `input` is typed from the SOP when the bundle comes from `defineSop`.
 */
export type StartRequest<I = Record<string, unknown>> = Omit<RunRequest, 'sop' | 'input'> & {
  input: I;
  /** allow re-running a task id whose earlier run has finished */
  rerun?: boolean;
  /** `test`: a run of `sop test`, marked SopKind=test at start (hidden by `sop runs list`); only on a server
   *  that has the attribute (`hasSearchAttribute`) */
  kind?: 'test';
};

export interface StartOnceOptions {
  /** memo fields beside the workspace (what started the run: trigger, parent run) */
  memo?: Record<string, unknown>;
  /** the workflow id of the run whose event started this one (the SopParent search attribute) */
  parent?: string;
  /** default: the client's task queue */
  taskQueue?: string;
}

export interface RunChild {
  workflowId: string;
  /** the event that started it */
  event?: string;
  /** the `kind: sop` step (and worklist item) it served */
  step?: string;
  item?: string;
  status: string;
  startTime: Date;
}

export interface RunSummary {
  sop: string;
  taskId: string;
  workflowId: string;
  runId: string;
  status: RunStatus | string;
  /** waiting_input: the child run a person is awaited in, when not this run itself */
  waitingIn?: string;
  /** running: the quota line an agent launch of it waits in (`waiting for quota codex/gpt-5: 2 of 2 in use, …`) */
  waitingForQuota?: string;
  /** `test`: a run of `sop test`; `child`: a child run of a `kind: sop` step (both hidden unless `all`) */
  kind?: 'test' | 'child';
  startTime: Date;
  closeTime?: Date;
}

export const workflowIdOf = (sop: string, taskId: string) => `${sop}/${taskId}`;

const nothingToResume = (sop: string, taskId: string) =>
  new RestartRefusedError(
    workflowIdOf(sop, taskId),
    'completed: there is nothing to resume',
    `sop rerun ${sop} ${taskId} --step STEP re-runs a step and what follows it`,
  );

/** Start, follow and steer SOP runs. The CLI is built on it; a service can embed it. */
export class SopClient {
  constructor(
    readonly client: Client,
    readonly target: TemporalTarget,
  ) {}

  static async connect(options: ConnectOptions = {}): Promise<SopClient> {
    const { client, target } = await connectClient(options);
    return new SopClient(client, target);
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }

  /**
   * Starts a run with a run request: a worker resolves the SOP from its catalog and checks the request and
   * input inside the run, so a bad one fails the run with a one-line reason (`handle.result()` rejects).
   * Given the SOP's bundle (`defineSop`, or a catalog's), the request is first checked against it here by
   * the same resolver (SopInputError, UnpricedModelError: nothing starts), and the run is pinned to it
   * (`sopVersion`: its bundle hash), so a worker whose SOP differs fails the run naming both instead of
   * running something else. Refuses a task id that is running (or finished, without rerun).
   */
  async start<I = Record<string, unknown>>(
    sop: string | (SopBundle & TypedInput<I>),
    request: StartRequest<I>,
  ): Promise<WorkflowHandle> {
    return this.startRequest(sop, request);
  }

  /**
   * Starts the run request's task unless a run of it exists, running or closed: the task id is the
   * idempotency key of whatever started it (a webhook delivery, the run that emitted an event), so a
   * retry or a redelivery gets the existing run instead of a second one.
   */
  async startOnce(
    request: RunRequest & { task: string },
    how: StartOnceOptions = {},
  ): Promise<{ started: boolean; workflowId: string; runId: string }> {
    const { sop, ...fields } = request;
    try {
      const handle = await this.startRequest(sop, fields, how);
      return { started: true, workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
    } catch (err) {
      if (!(err instanceof RunExistsError)) throw err;
      const existing = await this.client.workflow.getHandle(err.workflowId).describe();
      return { started: false, workflowId: existing.workflowId, runId: existing.runId };
    }
  }

  private async startRequest<I>(
    sop: string | SopBundle,
    options: StartRequest<I>,
    how: StartOnceOptions = {},
  ): Promise<WorkflowHandleWithFirstExecutionRunId> {
    const { rerun, kind, ...fields } = options;
    const name = typeof sop === 'string' ? sop : sop.name;
    const taskId = fields.task ?? newTaskId();
    const parsed = parseRunRequest({
      sop: name,
      ...fields,
      task: taskId,
      ...(typeof sop === 'string' ? {} : { sopVersion: fields.sopVersion ?? sop.hash }),
    });
    if ('problem' in parsed) throw new Error(parsed.problem);
    const request = parsed.request;
    if (typeof sop !== 'string') {
      const early = planRun(sop, request, 'this client');
      if ('refused' in early) throw early.refused.error;
    }
    const summary = request.request ?? summarizeInput(request.input);
    return this.startWorkflow(name, taskId, [request], {
      rerun,
      runFolder: request.repo.path && path.join(request.repo.path, '.sop', 'runs', name, taskId),
      staticSummary: `${name}: ${summary}`,
      staticDetails: `run request${typeof sop === 'string' ? '' : ` (${sop.title ?? name}, bundle ${sop.hash.slice(0, 12)})`}\n\nrepository ${request.repo.path ?? request.repo.url}`,
      memo: { workspace: request.repo.path ?? request.repo.url, ...how.memo },
      taskQueue: how.taskQueue,
      searchAttributes: [
        ...(how.parent ? [{ key: SopParent, value: how.parent }] : []),
        ...(kind ? [{ key: SopKind, value: kind }] : []),
      ],
    });
  }

  private async startWorkflow(
    sop: string,
    taskId: string,
    args: unknown[],
    how: {
      rerun?: boolean;
      /** where the run keeps its records (when the client can see it) */
      runFolder?: string;
      staticSummary: string;
      staticDetails: string;
      memo: Record<string, unknown>;
      taskQueue?: string;
      searchAttributes?: SearchAttributePair[];
    },
  ): Promise<WorkflowHandleWithFirstExecutionRunId> {
    const workflowId = workflowIdOf(sop, taskId);
    if (how.rerun && how.runFolder) await this.setAsideFinishedRun(workflowId, how.runFolder);
    try {
      return await this.client.workflow.start(sop, {
        workflowId,
        taskQueue: how.taskQueue ?? this.target.taskQueue,
        args,
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: how.rerun ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
        staticSummary: how.staticSummary.slice(0, 200),
        staticDetails: how.staticDetails,
        typedSearchAttributes: [
          { key: SopName, value: sop },
          { key: SopTaskId, value: taskId },
          { key: SopStatus, value: 'running' },
          ...(how.searchAttributes ?? []),
        ],
        memo: how.memo,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const running = await this.isRunning(workflowId);
        throw new RunExistsError(workflowId, running);
      }
      throw err;
    }
  }

  /**
   * A new run of a finished task id starts with a fresh run folder: the finished run's folder (its
   * executions.jsonl, evidence and run.json) is kept next to it as `<task>.previous-<run id>`, so neither run's
   * records are overwritten or mixed (`sop logs` and `sop verify --against-history` read the new run).
   */
  private async setAsideFinishedRun(workflowId: string, runFolder: string): Promise<void> {
    if (!fs.existsSync(runFolder)) return;
    let previous: { runId: string; status: string };
    try {
      const described = await this.client.workflow.getHandle(workflowId).describe();
      previous = { runId: described.runId, status: described.status.name };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return;
      throw err;
    }
    if (previous.status === 'RUNNING') return; // the start is refused below, naming the running run
    fs.renameSync(runFolder, `${runFolder}.previous-${previous.runId}`);
  }

  /** `start`, then the run's result. */
  async run<I = Record<string, unknown>>(
    sop: string | (SopBundle & TypedInput<I>),
    request: StartRequest<I>,
  ): Promise<RunResult> {
    return (await this.startRequest(sop, request)).result();
  }

  getHandle(sop: string, taskId: string): WorkflowHandle {
    return this.client.workflow.getHandle(workflowIdOf(sop, taskId));
  }

  async describe(sop: string, taskId: string) {
    return this.withHandle(sop, taskId, (h) => h.describe());
  }

  async status(sop: string, taskId: string): Promise<RunStatusView> {
    return this.withHandle(sop, taskId, (h) => h.query(statusQuery));
  }

  /** Answers the pending input request; throws with the schema error when the answer does not fit. */
  async answer(sop: string, taskId: string, value: unknown, requestId?: string): Promise<void> {
    await this.withHandle(sop, taskId, async (h) => {
      try {
        await h.executeUpdate(answerUpdate, { args: [{ value, requestId }] });
      } catch (err) {
        const cause = (err as { cause?: Error }).cause;
        throw new Error(cause?.message ?? (err as Error).message);
      }
    });
  }

  /** The state the task's latest execution reached (a worker must be polling: closed runs are replayed). */
  async checkpoint(sop: string, taskId: string): Promise<RunCheckpoint> {
    return this.withHandle(sop, taskId, (h) => h.query(checkpointQuery));
  }

  /**
   * Starts a new execution of a finished task from the state its latest execution reached.
   * `resume` (failed or cancelled runs): the steps that were in progress run again, everything accepted is
   * kept. `rerun`: `step` and every step downstream of it run again, with `context` in its next prompt;
   * for a worklist step, its `items` (all of them when absent) are set back to pending and done again.
   */
  async restart(
    sop: string,
    taskId: string,
    how: { resume: true } | { rerun: Rerun },
    /** more memo fields for the new execution (a follow-up run: the review that started it) */
    memo: Record<string, unknown> = {},
  ): Promise<WorkflowHandle> {
    const workflowId = workflowIdOf(sop, taskId);
    const closedAs = await this.withHandle(sop, taskId, async (h) => (await h.describe()).status.name);
    if (closedAs === 'RUNNING') {
      throw new RestartRefusedError(workflowId, 'is still running', `sop runs show ${sop} ${taskId}`);
    }
    // known from the server alone: no worker has to replay the run to say so
    if ('resume' in how && closedAs === 'COMPLETED') throw nothingToResume(sop, taskId);
    const checkpoint = await this.checkpoint(sop, taskId).catch((err: Error) => {
      // a run whose request was refused ended before the interpreter (and its queries) started
      if (/did not register a handler for checkpoint/.test(err.message)) {
        throw new RestartRefusedError(
          workflowId,
          'ended before it started (its run request was refused): there is nothing to resume or rerun',
          `sop runs show ${sop} ${taskId} says why; start a new run with a corrected request`,
        );
      }
      throw err;
    });
    const plan = checkpoint.input.plan;
    if ('resume' in how && checkpoint.status === 'completed') throw nothingToResume(sop, taskId);
    if ('rerun' in how && !plan.steps.some((s) => s.name === how.rerun.step)) {
      const steps = plan.steps.map((s) => s.name);
      throw new RestartRefusedError(
        workflowId,
        `has no step "${how.rerun.step}"`,
        `steps: ${steps.join(', ')}`,
      );
    }
    if ('rerun' in how && how.rerun.items?.length) {
      const step = plan.steps.find((s) => s.name === how.rerun.step);
      if (!step?.forEach) {
        const worklistSteps = plan.steps.filter((s) => s.forEach).map((s) => s.name);
        throw new RestartRefusedError(
          workflowId,
          `step "${how.rerun.step}" does not work through a worklist, so it has no items to re-run`,
          worklistSteps.length > 0
            ? `steps with items: ${worklistSteps.join(', ')}`
            : 'leave out --item to re-run the step',
        );
      }
    }
    const input: RunInput = {
      ...checkpoint.input,
      engine: CURRENT_ENGINE,
      restart: {
        state: checkpoint.state,
        steps: checkpoint.inProgress,
        rerun: 'rerun' in how ? how.rerun : undefined,
      },
    };
    const what = 'resume' in how ? 'resume' : `rerun ${how.rerun.step}`;
    return this.client.workflow.start(sop, {
      workflowId,
      taskQueue: this.target.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: `${sop} (${what}): ${checkpoint.input.request ?? ''}`.slice(0, 200),
      staticDetails: `${plan.title ?? sop}\n\nbundle ${plan.bundleHash}\n\nworkspace ${checkpoint.input.run.workspace}\n\n${what} of the previous execution`,
      typedSearchAttributes: [
        { key: SopName, value: sop },
        { key: SopTaskId, value: taskId },
        { key: SopStatus, value: 'running' },
      ],
      memo: {
        ...memo,
        bundleHash: plan.bundleHash,
        workspace: checkpoint.input.run.workspace,
        restartedBy: what,
      },
    });
  }

  async message(sop: string, taskId: string, text: string): Promise<void> {
    await this.withHandle(sop, taskId, (h) => h.signal(messageSignal, text));
  }

  async cancel(sop: string, taskId: string): Promise<void> {
    await this.withHandle(sop, taskId, (h) => h.cancel());
  }

  /**
   * Runs, newest first, one row per execution (continued-as-new links left out). While an execution runs
   * its status is the SOP's (`running`, `waiting_input`); once closed it is Temporal's, so a terminated or
   * timed-out run never shows as running. Runs of `sop test` (SopKind) and the child runs of `kind: sop`
   * steps (a Temporal child with a SopParent) are left out unless `all`.
   */
  async *list(filter: { sop?: string; status?: string; all?: boolean } = {}): AsyncIterable<RunSummary> {
    const clauses = ['SopName IS NOT NULL', 'ExecutionStatus != "ContinuedAsNew"'];
    if (filter.sop) clauses.push(`SopName = ${JSON.stringify(filter.sop)}`);
    if (filter.status) clauses.push(statusClause(filter.status));
    if (!filter.all) clauses.push(NOT_A_CHILD_RUN, NOT_A_TEST_RUN);
    let yielded = false;
    try {
      for await (const row of this.listRows(clauses.join(' AND '))) {
        yielded = true;
        yield row;
      }
    } catch (err) {
      // a server that does not know SopKind (set up before it existed) has no run marked with it
      if (yielded || filter.all || !/SopKind.* not a valid search attribute/.test((err as Error).message))
        throw err;
      yield* this.listRows(clauses.filter((c) => c !== NOT_A_TEST_RUN).join(' AND '));
    }
  }

  private async *listRows(query: string): AsyncIterable<RunSummary> {
    for await (const wf of this.client.workflow.list({ query })) {
      const sop = wf.typedSearchAttributes.get(SopName) ?? wf.type;
      const kind = runKindOf(wf.typedSearchAttributes.get(SopKind), wf.parentExecution, wf.memo);
      const waitingIn = wf.status.name === 'RUNNING' ? waitingInOf(wf.memo) : undefined;
      const quotaLine = wf.status.name === 'RUNNING' ? wf.memo?.[QUOTA_MEMO_KEY] : undefined;
      yield {
        sop,
        taskId: wf.typedSearchAttributes.get(SopTaskId) ?? wf.workflowId.slice(sop.length + 1),
        workflowId: wf.workflowId,
        runId: wf.runId,
        status:
          wf.status.name === 'RUNNING'
            ? (wf.typedSearchAttributes.get(SopStatus) ?? 'running')
            : wf.status.name.toLowerCase(),
        ...(waitingIn ? { waitingIn } : {}),
        ...(typeof quotaLine === 'string' ? { waitingForQuota: quotaLine } : {}),
        ...(kind ? { kind } : {}),
        startTime: wf.startTime,
        closeTime: wf.closeTime,
      };
    }
  }

  /** Every quota key's workflow that runs (docs/quotas.md): limits, use, holders and waiters. */
  async quotas(): Promise<QuotaView[]> {
    const views: QuotaView[] = [];
    const query = `WorkflowType = "${QUOTA_WORKFLOW_TYPE}" AND ExecutionStatus = "Running"`;
    for await (const wf of this.client.workflow.list({ query })) {
      views.push(await this.client.workflow.getHandle(wf.workflowId).query(quotaViewQuery));
    }
    return views.sort((a, b) => a.key.localeCompare(b.key));
  }

  /** Whether the namespace has this custom search attribute (false when the server does not tell). */
  async hasSearchAttribute(name: string): Promise<boolean> {
    try {
      const { customAttributes } = await this.client.connection.operatorService.listSearchAttributes({
        namespace: this.target.namespace,
      });
      return Object.keys(customAttributes ?? {}).includes(name);
    } catch {
      return false;
    }
  }

  /**
   * The run `<sop> <task>` as `workflowIdOf` finds it: itself when its workflow id is `<sop>/<task>`; a child
   * run of a `kind: sop` step (workflow id `<parent-id>/<step>`, listed under its own SOP and task) by its
   * SopName and SopTaskId, as the ref whose workflowIdOf is that id. Unknown runs come back unchanged.
   */
  async locate(sop: string, taskId: string): Promise<{ sop: string; task: string }> {
    try {
      await this.client.workflow.getHandle(workflowIdOf(sop, taskId)).describe();
      return { sop, task: taskId };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    const query = `SopName = ${JSON.stringify(sop)} AND SopTaskId = ${JSON.stringify(taskId)} AND SopParent IS NOT NULL`;
    for await (const wf of this.client.workflow.list({ query })) {
      const slash = wf.workflowId.indexOf('/');
      if (slash > 0) return { sop: wf.workflowId.slice(0, slash), task: wf.workflowId.slice(slash + 1) };
    }
    return { sop, task: taskId };
  }

  /** The runs an event or a `kind: sop` step of this run started (SopParent = its workflow id), oldest first. */
  async children(sop: string, taskId: string): Promise<RunChild[]> {
    const query = `SopParent = ${JSON.stringify(workflowIdOf(sop, taskId))} AND ExecutionStatus != "ContinuedAsNew"`;
    const found: RunChild[] = [];
    for await (const wf of this.client.workflow.list({ query })) {
      const parent = parentFromMemo(wf.memo);
      found.push({
        workflowId: wf.workflowId,
        event: parent?.event,
        ...(parent?.step !== undefined ? { step: parent.step } : {}),
        ...(parent?.item !== undefined ? { item: parent.item } : {}),
        status:
          wf.status.name === 'RUNNING'
            ? (wf.typedSearchAttributes.get(SopStatus) ?? 'running')
            : wf.status.name.toLowerCase(),
        startTime: wf.startTime,
      });
    }
    return found.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  }

  /** The workers polling `taskQueue` (default: this client's) now; none means runs there cannot move on. */
  async workers(taskQueue: string = this.target.taskQueue): Promise<WorkerPoller[]> {
    return liveWorkers(this.client, this.target.namespace, taskQueue);
  }

  webUiLink(sop: string, taskId: string): string | undefined {
    return workflowUiLink(this.target, workflowIdOf(sop, taskId));
  }

  private async isRunning(workflowId: string): Promise<boolean> {
    const description = await this.client.workflow.getHandle(workflowId).describe();
    return description.status.name === 'RUNNING';
  }

  private async withHandle<T>(
    sop: string,
    taskId: string,
    fn: (h: WorkflowHandle) => Promise<T>,
  ): Promise<T> {
    try {
      return await fn(this.getHandle(sop, taskId));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new RunNotFoundError(workflowIdOf(sop, taskId));
      throw err;
    }
  }
}

/** Leaves out the child runs of `kind: sop` steps: Temporal children with a SopParent (a sensor's runs are
 * children without one, runs started by an event have one but are no children). */
export const NOT_A_CHILD_RUN = '(ParentWorkflowId IS NULL OR SopParent IS NULL)';
export const NOT_A_TEST_RUN = 'SopKind IS NULL';

function runKindOf(
  kind: string | undefined,
  parentExecution: unknown,
  memo: Record<string, unknown> | undefined,
): RunSummary['kind'] {
  if (kind === 'test') return 'test';
  if (parentExecution && parentFromMemo(memo)?.step !== undefined) return 'child';
  return undefined;
}

/** The workflow id of the child run a running run waits for a person in (memo waitingIn), if any. */
function waitingInOf(memo: Record<string, unknown> | undefined): string | undefined {
  const parsed = WaitingInSchema.safeParse(memo?.[WAITING_IN_MEMO_KEY]);
  return parsed.success ? parsed.data.workflowId : undefined;
}

/** The visibility query for a `sop runs list --status` value (see SOP_STATUSES). */
export function statusClause(status: string): string {
  if (status === 'running' || status === 'waiting_input') {
    return `ExecutionStatus = "Running" AND SopStatus = ${JSON.stringify(status)}`;
  }
  const closed: Record<string, string> = {
    completed: 'Completed',
    failed: 'Failed',
    cancelled: 'Canceled',
    terminated: 'Terminated',
    timed_out: 'TimedOut',
  };
  if (!closed[status]) throw new Error(`unknown status "${status}"; use one of ${SOP_STATUSES.join(', ')}`);
  return `ExecutionStatus = "${closed[status]}"`;
}

function newTaskId(): string {
  return `${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
}
