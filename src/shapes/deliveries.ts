// Deliveries: what a run writes to its forge (a pull request from the run branch, comments, labels, a
// commit status or check run), declared in the SOP's `deliver:` and performed by the runtime on the worker,
// never by the agent. Plain types and pure functions: read by the compiler, the interpreter workflow (which
// decides when each delivery happens and validates what an agent requests) and the delivery activity.

/** The pull request's delivery name: its key is `<workflow id>/pull-request` (forge.ts deliveryKey). */
export const PULL_REQUEST_DELIVERY = 'pull-request';

/**
 * The run (workflow id) whose pull request carries this delivery key, or undefined for another key: the body of
 * a pull request the runtime opened holds `<!-- sop:<workflow id>/pull-request -->` (forge.ts markersIn).
 */
export function runOfPullRequestKey(key: string): string | undefined {
  const suffix = `/${PULL_REQUEST_DELIVERY}`;
  return key.endsWith(suffix) && key.length > suffix.length ? key.slice(0, -suffix.length) : undefined;
}

/** When a declared delivery happens: the run's end, its failure, or a route a step takes. */
export type DeliveryPoint =
  | { kind: 'end' }
  | { kind: 'failure' }
  | { kind: 'route'; step: string; route: string };

interface PullRequestDelivery {
  kind: 'pull_request';
  /** templates over input, params, steps (outputs), routes and run */
  title: string;
  body: string;
  /** the branch the pull request goes into (default: repo.ref, else main) */
  base?: string;
  draft: boolean;
  labels: string[];
  reviewers: string[];
}

interface CommentDelivery {
  kind: 'comment';
  /** a template giving the issue or pull request number, or `pull_request`: the run's own pull request */
  issue: string;
  body: string;
}

interface LabelsDelivery {
  kind: 'labels';
  issue: string;
  add: string[];
  remove: string[];
}

interface StatusDelivery {
  kind: 'status';
  /** the status's (or check run's) name on the forge */
  context: string;
  description?: string;
  /** a check run (GitHub: an App only) instead of a commit status */
  check: boolean;
}

type DeliveryAction = PullRequestDelivery | CommentDelivery | LabelsDelivery | StatusDelivery;

export interface DeliverySpec {
  /** the name in the SOP: with the run's workflow id, the key of every write it makes */
  name: string;
  on: DeliveryPoint[];
  action: DeliveryAction;
}

/** What an agent step may ask the runtime to deliver in its outcome (`deliver.agent:`). */
export interface AgentAllowance {
  comments?: { issue: string; max: number };
  labels?: { issue: string; allowed: string[]; max: number };
}

export interface DeliverPlan {
  /** `owner/name` (a template); absent: from the run's repo.url */
  repo?: string;
  deliveries: DeliverySpec[];
  agent?: AgentAllowance;
}

/** A delivery an agent asked for that the runtime did not perform, and why: recorded and shown. */
export interface RefusedRequest {
  step: string;
  item?: string;
  kind: 'comment' | 'label' | 'request';
  /** the label, or the start of the comment */
  value: string;
  reason: string;
}

/** A delivery the runtime performed (or that failed): the run's record of its forge writes. */
export interface DeliveryRecord {
  name: string;
  /** `end`, `failure` or `STEP.ROUTE`; `STEP (agent)` for an agent's request */
  at: string;
  kind: DeliveryAction['kind'];
  /** created, updated, unchanged, reopened, skipped, failed */
  action: string;
  /** what was written: `acme/widgets#12`, a label list, a status context */
  target?: string;
  url?: string;
  error?: string;
}

/** The run's forge state: carried through continue-as-new and restarts. */
export interface ForgeRunState {
  /** the run's pull request, once opened: what a review gate waits on and what later deliveries update */
  pullRequest?: { number: number; url: string; repo: string };
  /** the most recent deliveries */
  deliveries: DeliveryRecord[];
  /** agent requests refused (the most recent) */
  refused: RefusedRequest[];
  /** accepted outcomes that asked for deliveries so far: numbers the keys of their writes */
  agentRequests: number;
  /** set while the run waits for the forge's rate limit to reset */
  rateLimitedUntilMs?: number;
}

/** The deliveries a point triggers, in declaration order (the pull request first: others may name it). */
export function deliveriesAt(plan: DeliverPlan | undefined, point: DeliveryPoint): DeliverySpec[] {
  if (!plan) return [];
  const at = plan.deliveries.filter((d) => d.on.some((p) => samePoint(p, point)));
  return [
    ...at.filter((d) => d.action.kind === 'pull_request'),
    ...at.filter((d) => d.action.kind !== 'pull_request'),
  ];
}

function samePoint(a: DeliveryPoint, b: DeliveryPoint): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'route' || (b.kind === 'route' && a.step === b.step && a.route === b.route);
}

export function pointName(point: DeliveryPoint): string {
  return point.kind === 'route' ? `${point.step}.${point.route}` : point.kind;
}

const PREVIEW = 60;

/**
 * The agent's requests checked against what the SOP allows: each comment up to `max`, each label from the
 * allowed list up to `max`; everything else is refused with the reason (never silently dropped).
 */
export function checkAgentRequests(
  requested: unknown,
  allowance: AgentAllowance | undefined,
  where: { step: string; item?: string },
): { comments: string[]; labels: string[]; refused: RefusedRequest[] } {
  const out = { comments: [] as string[], labels: [] as string[], refused: [] as RefusedRequest[] };
  if (requested === undefined || requested === null) return out;
  const refuse = (kind: RefusedRequest['kind'], value: string, reason: string) =>
    out.refused.push({ ...where, kind, value: value.slice(0, PREVIEW), reason });
  if (typeof requested !== 'object' || Array.isArray(requested)) {
    refuse('request', JSON.stringify(requested), '`deliver` must be an object with comments and labels');
    return out;
  }
  const { comments, labels, ...other } = requested as Record<string, unknown>;
  for (const key of Object.keys(other))
    refuse('request', key, `the SOP allows agents no "${key}" deliveries`);
  for (const [i, comment] of asList(comments).entries()) {
    const text = typeof comment === 'string' ? comment.trim() : '';
    if (!allowance?.comments)
      refuse('comment', String(comment), 'the SOP allows agents no comments (deliver.agent.comments)');
    else if (!text) refuse('comment', String(comment), 'a comment must be non-empty text');
    else if (out.comments.length >= allowance.comments.max)
      refuse(
        'comment',
        text,
        `more than the ${allowance.comments.max} comment(s) allowed per step (comment ${i + 1})`,
      );
    else out.comments.push(text);
  }
  for (const label of asList(labels)) {
    const name = typeof label === 'string' ? label.trim() : '';
    const allowed = allowance?.labels?.allowed ?? [];
    if (!allowance?.labels)
      refuse('label', String(label), 'the SOP allows agents no labels (deliver.agent.labels)');
    else if (!allowed.some((a) => a.toLowerCase() === name.toLowerCase()))
      refuse('label', String(label), `not an allowed label (allowed: ${allowed.join(', ')})`);
    else if (out.labels.some((l) => l.toLowerCase() === name.toLowerCase())) continue;
    else if (out.labels.length >= allowance.labels.max)
      refuse('label', name, `more than the ${allowance.labels.max} label(s) allowed per step`);
    else out.labels.push(name);
  }
  return out;
}

const asList = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** The hidden part of a delivery's key for an agent's request: stable across replays and retries. */
export const agentDeliveryName = (step: string, request: number, kind: 'comment' | 'labels', n = 1) =>
  `agent-${step}-${request}-${kind}${kind === 'comment' ? `-${n}` : ''}`;

/** What the run record in the pull request's body is made of (all from the run's state and plan). */
export interface RunRecordFacts {
  status: 'running' | 'completed' | 'failed';
  failure?: string;
  routesTaken: { step: string; item?: string; route: string; target: string }[];
  /** how each step is judged: the gate kind, and a command step's command */
  steps: { name: string; kind: string; command?: string }[];
  answers: { step: string; route?: string; by?: string; kind: string }[];
  usage: { inputTokens: number; outputTokens: number; costUsd: number; agentRuns: number };
  deniedCalls: number;
  denials: { step: string; role: string; tool?: string; reason?: string }[];
  refused: RefusedRequest[];
}

/** What the delivery activity is asked: one delivery of one run, with everything its templates read. */
export interface DeliveryRequest {
  /** the run's workflow id: with the delivery's name, the key of its writes */
  workflowId: string;
  spec: DeliverySpec;
  /** the point it happens at (`end`, `failure`, `STEP.ROUTE`, `STEP (agent)`) */
  at: string;
  /** `deliver.repo` (a template) */
  repo?: string;
  /**
   * a repo.url run: its remote, run branch, last pushed commit and the branch it started from (repo.ref when a
   * branch, else the remote's default branch): a pull request's base unless the SOP names one
   */
  remote?: string;
  branch?: string;
  head?: string;
  baseRef?: string;
  pullRequest?: ForgeRunState['pullRequest'];
  /** the run's folder on the worker (the evidence digest) and its sop and task */
  runFolder: string;
  sop: string;
  taskId: string;
  /** what templates read: input, params, steps (outputs), routes */
  scope: Record<string, unknown>;
  record: RunRecordFacts;
}

export interface DeliveryResult {
  record: DeliveryRecord;
  pullRequest?: ForgeRunState['pullRequest'];
}

/** The failure type of a delivery the forge refused (401/403/404/422) or that cannot be made: not retried. */
export const DELIVERY_REFUSED = 'SopDeliveryRefused';
