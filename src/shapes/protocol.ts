// The agent protocol's verdict on one execution: the problems that keep the runtime from accepting it
// (policy violations, a missing or illegal route, a missing, stale or invalid required artifact). Pure:
// the workflow decides with it, and the agent activity records the same verdict in executions.jsonl.
import type { AgentStepResult, ArtifactReport, Role } from './contract';
import type { RouteSpec } from './execution-plan';

/** A problem found after an execution; `finding` when it is the producer's to fix (see producerArtifacts). */
export interface ProtocolProblem {
  problem: string;
  finding?: string;
}

export function protocolProblems(
  result: Pick<AgentStepResult, 'violations' | 'outcome' | 'outcomeError' | 'artifacts'>,
  routes: RouteSpec[],
  role: Role,
  writtenThisIteration: Record<string, string>,
  ownedByProducer: string[],
): ProtocolProblem[] {
  const problems: ProtocolProblem[] = result.violations.map((v) => ({ problem: `policy violation: ${v}` }));
  let route: RouteSpec | undefined;
  if (role === 'producer') {
    route = routes[0];
  } else if (!result.outcome) {
    problems.push({ problem: result.outcomeError ?? 'no outcome was returned' });
  } else {
    route = routes.find((r) => r.name === result.outcome?.route);
    if (!route) {
      problems.push({
        problem: `route "${result.outcome.route}" is not a legal outcome of this step; choose one of: ${routes.map((r) => r.name).join(', ')}`,
      });
    }
  }
  for (const name of route?.requires ?? []) {
    let report = result.artifacts.find((a) => a.name === name);
    // written by the producer of this iteration and untouched since: fresh for the verifier too
    if (report && !report.fresh && report.sha256 && writtenThisIteration[name] === report.sha256) {
      report = { ...report, fresh: true };
    }
    const problem = artifactProblem(name, report);
    if (!problem) continue;
    problems.push(
      route && ownedByProducer.includes(name)
        ? { problem, finding: producerFinding(route.name, name, report) }
        : { problem },
    );
  }
  return problems;
}

/** What the producer is told when the verifier's route needs an artifact of its that is not right. */
function producerFinding(route: string, name: string, report: ArtifactReport | undefined): string {
  const what = `route \`${route}\` requires artifact \`${name}\` (${report?.path ?? 'path unknown'})`;
  if (!report?.exists) return `${what}, which the producer did not write`;
  if (!report.fresh) {
    return `${what}, which the producer did not write (the file there is left over from an earlier round); write it again`;
  }
  return `${what}, which is invalid: ${report.error}`;
}

function artifactProblem(name: string, report: ArtifactReport | undefined): string | undefined {
  if (!report?.exists)
    return `required artifact "${name}" (${report?.path ?? 'path unknown'}) was not written`;
  if (!report.fresh) {
    return `required artifact "${name}" (${report.path}) was not written by this attempt (it is left over from an earlier one); write it again`;
  }
  if (!report.valid) return `required artifact "${name}" (${report.path}) is invalid: ${report.error}`;
  return undefined;
}
