// The forge a run delivers to: pull requests, comments, labels and commit statuses, each written so a retry,
// a replay or a rerun finds its earlier write and updates it instead of writing again. GitHub is the first
// adapter (github.ts); another forge is one more implementation of this interface.

import type { ForgeRecord, ReviewComment } from '../shapes/forge-review';

export interface RepoRef {
  owner: string;
  repo: string;
}

export type WriteAction = 'created' | 'updated' | 'unchanged' | 'reopened';

export interface PullRequestSpec {
  /** the delivery's key (deliveryKey): marked in the body, so the runtime knows its own pull request */
  key: string;
  /** the branch the run pushed (`sop/<sop>/<task>`): one pull request per head branch, found by it */
  head: string;
  base: string;
  title: string;
  body: string;
  /** only when the pull request is created (the REST API cannot change it later) */
  draft?: boolean;
  /** logins asked to review: those not asked already (someone who has reviewed since is asked again) */
  reviewers?: string[];
}

export interface PullRequestRef {
  number: number;
  /** the pull request's web page */
  url: string;
  headSha: string;
  action: WriteAction;
}

export interface CommentSpec {
  /** the delivery's key: a hidden marker `<!-- sop:KEY -->` in the body finds the comment again */
  key: string;
  /** the issue or pull request number */
  issue: number;
  body: string;
}

export interface CommentRef {
  id: number;
  url: string;
  action: WriteAction;
}

type StatusState = 'pending' | 'success' | 'failure' | 'error';

export interface StatusSpec {
  /** the commit (the run branch's head) */
  sha: string;
  /** the status's name on the forge, its key: one current status per context */
  context: string;
  state: StatusState;
  description?: string;
  targetUrl?: string;
}

type CheckConclusion =
  | 'success'
  | 'failure'
  | 'neutral'
  | 'cancelled'
  | 'timed_out'
  | 'action_required'
  | 'skipped';

export interface CheckRunSpec {
  /** the delivery's key: the check run's external id, so it is found again on its commit */
  key: string;
  sha: string;
  /** the check's name on the forge */
  name: string;
  /** without a conclusion the check is in progress */
  conclusion?: CheckConclusion;
  title: string;
  summary: string;
  detailsUrl?: string;
}

export interface Forge {
  /** `github`; what names this forge in messages */
  readonly name: string;
  /** open the pull request for `head`, or update the one open for it (reopen the runtime's own if closed) */
  ensurePullRequest(repo: RepoRef, spec: PullRequestSpec): Promise<PullRequestRef>;
  /** the comment carrying the key's marker, updated; or a new one */
  upsertComment(repo: RepoRef, spec: CommentSpec): Promise<CommentRef>;
  /** the issue's labels become exactly these; each returns the labels the issue has afterwards */
  setLabels(repo: RepoRef, issue: number, labels: string[]): Promise<string[]>;
  addLabels(repo: RepoRef, issue: number, labels: string[]): Promise<string[]>;
  /** labels the issue does not have are not an error (a retry removes nothing twice) */
  removeLabels(repo: RepoRef, issue: number, labels: string[]): Promise<string[]>;
  /** the commit status of this context, unless the latest one already says the same */
  setStatus(repo: RepoRef, spec: StatusSpec): Promise<{ action: 'created' | 'unchanged' }>;
  /** the check run of this key on the commit, updated; or a new one (GitHub: an App only) */
  ensureCheckRun(repo: RepoRef, spec: CheckRunSpec): Promise<{ id: number; action: WriteAction }>;
  /** the inline comments of a pull request's review: file, line and text (reads only) */
  reviewComments(repo: RepoRef, pullRequest: number, reviewId: number): Promise<ReviewComment[]>;
  /** a pull request's review as the forge has it (author, association, state); undefined when it has none */
  review(repo: RepoRef, pullRequest: number, reviewId: number): Promise<ForgeRecord | undefined>;
  /** an issue or pull request comment as the forge has it (author, association, body); undefined when none */
  issueComment(repo: RepoRef, commentId: number): Promise<ForgeRecord | undefined>;
  /** where to push the run branch (HTTPS) */
  remoteUrl(repo: RepoRef): string;
  /**
   * Environment for a `git push`/`fetch` to remoteUrl: the credential as an HTTP header in git's
   * environment config, never in argv or the remote URL. For the worker's own git only, never an agent's.
   */
  gitAuthEnv(): Promise<Record<string, string>>;
}

const KEY = /^[\w.:/@+-]{1,200}$/;

/**
 * The key of one delivery of one run: the run's workflow id (stable across retries, replays and reruns of
 * the task) and the delivery's name in the SOP. Characters a marker cannot carry become `-`.
 */
export function deliveryKey(workflowId: string, delivery: string): string {
  const key = `${workflowId}/${delivery}`.replace(/[^\w.:/@+-]/g, '-');
  return key.slice(0, 200);
}

/** The hidden marker a comment or pull request body carries: `<!-- sop:KEY -->`. */
function marker(key: string): string {
  if (!KEY.test(key)) {
    throw new Error(
      `delivery key "${key}" must be 1-200 letters, digits or . _ : / @ + - (build it with deliveryKey)`,
    );
  }
  return `<!-- sop:${key} -->`;
}

/** The body with the key's marker on its last line (replacing a marker already there). */
export function withMarker(body: string, key: string): string {
  const mark = marker(key);
  const plain = body.split(mark).join('').trimEnd();
  return `${plain}\n\n${mark}`;
}

export function hasMarker(body: string | null | undefined, key: string): boolean {
  return (body ?? '').includes(marker(key));
}

/** The delivery keys a body carries (`<!-- sop:KEY -->`): how a webhook finds the run of a pull request or comment. */
export function markersIn(body: string | null | undefined): string[] {
  return [...(body ?? '').matchAll(/<!-- sop:([\w.:/@+-]{1,200}) -->/g)].map((m) => m[1]);
}
