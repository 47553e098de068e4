import { Context } from '@temporalio/activity';
import type { AgentRunners } from '../harnesses/runner';
import { removeRunSessions } from '../harnesses/sessions';
import type { AgentStepRequest, AgentStepResult, LostLaunch, RunRef } from '../shapes/contract';
import { runAgentStep } from './agent-step';
import { recordAnswer } from './answer-record';
import { recordChildRun } from './child-record';
import { runCommandStep } from './command-step';
import { finishRunSummary, type RunEnd, type RunStamped } from './run-summary';
import { recordLostLaunches } from './step-support';
import { worklistActivities } from './worklist-activities';
import { worktreeActivities } from './worktrees';

export interface InterpreterActivityDeps {
  /** harness adapters by provider; a provider without one fails the step with a clear message */
  runners: AgentRunners;
}

/**
 * The interpreter's activities. Plain async functions over files; results carry paths and hashes. Each
 * kind of work has its file: agent-step.ts, command-step.ts, worklist-activities.ts, worktrees.ts.
 */
export function createInterpreterActivities(deps: InterpreterActivityDeps) {
  return {
    runAgentStep: (request: AgentStepRequest): Promise<AgentStepResult> =>
      runAgentStep(deps.runners, request),
    runCommandStep,
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

    ...worklistActivities,
  };
}

export type InterpreterActivities = ReturnType<typeof createInterpreterActivities>;
