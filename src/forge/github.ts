// The GitHub adapter: the Forge interface over GitHub's REST API with the real Octokit client, as a token
// or as a GitHub App (installation tokens exchanged with a JWT signed by the App's key, by @octokit/auth-app).

import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import type { ForgeRecord, ReviewComment } from '../shapes/forge-review';
import type { GitHubSettings } from './credentials';
import { githubSettingsFromEnv } from './credentials';
import { ForgeError, ForgeRateLimitError } from './errors';
import {
  type CheckRunSpec,
  type CommentRef,
  type CommentSpec,
  type Forge,
  hasMarker,
  type PullRequestRef,
  type PullRequestSpec,
  type RepoRef,
  type StatusSpec,
  type WriteAction,
  withMarker,
} from './forge';

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

/** what the adapter reads of a pull request (the list's and the single one's shapes both have it) */
interface PullData {
  number: number;
  html_url: string;
  head: { sha: string };
  requested_reviewers?: { login: string }[] | null;
}

export class GitHubForge implements Forge {
  readonly name = 'GitHub';
  private readonly octokit: Octokit;

  constructor(private readonly settings: GitHubSettings) {
    const { apiUrl, credential } = settings;
    const common = { baseUrl: apiUrl, userAgent: 'sop-runtime', log: QUIET };
    this.octokit =
      credential.kind === 'token'
        ? new Octokit({ ...common, auth: credential.token })
        : new Octokit({
            ...common,
            authStrategy: createAppAuth,
            auth: {
              appId: credential.appId,
              privateKey: credential.privateKey,
              installationId: credential.installationId,
            },
          });
  }

  async ensurePullRequest(repo: RepoRef, spec: PullRequestSpec): Promise<PullRequestRef> {
    const op = `pull request for ${repo.owner}/${repo.repo}:${spec.head}`;
    const { ref, requested } = await this.writePullRequest(repo, spec, op);
    const missing = (spec.reviewers ?? []).filter(
      (r) => !requested.some((q) => q.toLowerCase() === r.toLowerCase()),
    );
    if (missing.length === 0) return ref;
    await this.call(op, () =>
      this.octokit.rest.pulls.requestReviewers({ ...repo, pull_number: ref.number, reviewers: missing }),
    );
    return { ...ref, action: ref.action === 'unchanged' ? 'updated' : ref.action };
  }

  async reviewComments(repo: RepoRef, pullRequest: number, reviewId: number): Promise<ReviewComment[]> {
    const op = `comments of review ${reviewId} on ${repo.owner}/${repo.repo}#${pullRequest}`;
    const comments = await this.call(op, () =>
      this.octokit.paginate(this.octokit.rest.pulls.listCommentsForReview, {
        ...repo,
        pull_number: pullRequest,
        review_id: reviewId,
        per_page: 100,
      }),
    );
    return comments.map((c) => {
      const line = (c as { line?: number | null; original_line?: number | null }).line;
      return {
        path: c.path,
        line: line ?? (c as { original_line?: number | null }).original_line ?? null,
        body: c.body,
      };
    });
  }

  async review(repo: RepoRef, pullRequest: number, reviewId: number): Promise<ForgeRecord | undefined> {
    const op = `review ${reviewId} on ${repo.owner}/${repo.repo}#${pullRequest}`;
    const data = await this.found(op, () =>
      this.octokit.rest.pulls.getReview({ ...repo, pull_number: pullRequest, review_id: reviewId }),
    );
    if (!data) return undefined;
    return {
      by: data.user?.login ?? '',
      association: data.author_association,
      pullRequest: numberAtEnd(data.pull_request_url, 'pulls'),
      body: data.body ?? '',
      url: data.html_url,
      state: data.state,
    };
  }

  async issueComment(repo: RepoRef, commentId: number): Promise<ForgeRecord | undefined> {
    const op = `comment ${commentId} on ${repo.owner}/${repo.repo}`;
    const data = await this.found(op, () =>
      this.octokit.rest.issues.getComment({ ...repo, comment_id: commentId }),
    );
    if (!data) return undefined;
    return {
      by: data.user?.login ?? '',
      association: data.author_association,
      pullRequest: numberAtEnd(data.issue_url, 'issues'),
      body: data.body ?? '',
      url: data.html_url,
    };
  }

  /** One read whose 404 means "there is none": its data, or undefined. */
  private async found<T>(operation: string, fn: () => Promise<{ data: T }>): Promise<T | undefined> {
    try {
      return (await this.call(operation, fn)).data;
    } catch (err) {
      if (err instanceof ForgeError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** The pull request created, updated or reopened, and who is already asked to review it. */
  private async writePullRequest(repo: RepoRef, spec: PullRequestSpec, op: string) {
    const body = withMarker(spec.body, spec.key);
    const pulls = await this.call(op, () =>
      this.octokit.paginate(this.octokit.rest.pulls.list, {
        ...repo,
        head: `${repo.owner}:${spec.head}`,
        state: 'all',
        per_page: 100,
      }),
    );
    const open = pulls.find((p) => p.state === 'open' && p.head.ref === spec.head);
    // a closed (unmerged) pull request of this delivery is reopened rather than duplicated
    const ours = pulls.find((p) => p.head.ref === spec.head && !p.merged_at && hasMarker(p.body, spec.key));
    const existing = open ?? ours;
    const answer = (data: PullData, action: WriteAction) => ({
      ref: { number: data.number, url: data.html_url, headSha: data.head.sha, action },
      requested: (data.requested_reviewers ?? []).map((u) => u.login),
    });
    if (!existing) {
      const { data } = await this.call(op, () =>
        this.octokit.rest.pulls.create({
          ...repo,
          head: spec.head,
          base: spec.base,
          title: spec.title,
          body,
          draft: spec.draft ?? false,
        }),
      );
      return answer(data, 'created');
    }
    const same =
      existing.state === 'open' &&
      existing.title === spec.title &&
      existing.body === body &&
      existing.base.ref === spec.base;
    if (same) return answer(existing, 'unchanged');
    const { data } = await this.call(op, () =>
      this.octokit.rest.pulls.update({
        ...repo,
        pull_number: existing.number,
        title: spec.title,
        body,
        base: spec.base,
        state: 'open',
      }),
    );
    return answer(data, existing.state === 'open' ? 'updated' : 'reopened');
  }

  async upsertComment(repo: RepoRef, spec: CommentSpec): Promise<CommentRef> {
    const body = withMarker(spec.body, spec.key);
    const op = `comment on ${repo.owner}/${repo.repo}#${spec.issue}`;
    const comments = await this.call(op, () =>
      this.octokit.paginate(this.octokit.rest.issues.listComments, {
        ...repo,
        issue_number: spec.issue,
        per_page: 100,
      }),
    );
    const existing = comments.find((c) => hasMarker(c.body, spec.key));
    if (existing?.body === body)
      return { id: Number(existing.id), url: existing.html_url, action: 'unchanged' };
    if (existing) {
      const { data } = await this.call(op, () =>
        this.octokit.rest.issues.updateComment({ ...repo, comment_id: Number(existing.id), body }),
      );
      return { id: Number(data.id), url: data.html_url, action: 'updated' };
    }
    const { data } = await this.call(op, () =>
      this.octokit.rest.issues.createComment({ ...repo, issue_number: spec.issue, body }),
    );
    return { id: Number(data.id), url: data.html_url, action: 'created' };
  }

  async setLabels(repo: RepoRef, issue: number, labels: string[]): Promise<string[]> {
    const op = `labels of ${repo.owner}/${repo.repo}#${issue}`;
    const { data } = await this.call(op, () =>
      this.octokit.rest.issues.setLabels({ ...repo, issue_number: issue, labels }),
    );
    return data.map((l) => l.name);
  }

  async addLabels(repo: RepoRef, issue: number, labels: string[]): Promise<string[]> {
    if (labels.length === 0) return this.labels(repo, issue);
    const op = `labels of ${repo.owner}/${repo.repo}#${issue}`;
    const { data } = await this.call(op, () =>
      this.octokit.rest.issues.addLabels({ ...repo, issue_number: issue, labels }),
    );
    return data.map((l) => l.name);
  }

  async removeLabels(repo: RepoRef, issue: number, labels: string[]): Promise<string[]> {
    const op = `labels of ${repo.owner}/${repo.repo}#${issue}`;
    const current = await this.labels(repo, issue);
    for (const name of labels) {
      if (!current.some((l) => l.toLowerCase() === name.toLowerCase())) continue;
      await this.call(op, () => this.octokit.rest.issues.removeLabel({ ...repo, issue_number: issue, name }));
    }
    return this.labels(repo, issue);
  }

  async setStatus(repo: RepoRef, spec: StatusSpec): Promise<{ action: 'created' | 'unchanged' }> {
    const op = `commit status ${spec.context} on ${repo.owner}/${repo.repo}@${spec.sha.slice(0, 12)}`;
    // newest first: the first of this context is the one the forge shows
    const { data: statuses } = await this.call(op, () =>
      this.octokit.rest.repos.listCommitStatusesForRef({ ...repo, ref: spec.sha, per_page: 100 }),
    );
    const latest = statuses.find((s) => s.context === spec.context);
    if (
      latest &&
      latest.state === spec.state &&
      (latest.description ?? undefined) === spec.description &&
      (latest.target_url ?? undefined) === spec.targetUrl
    ) {
      return { action: 'unchanged' };
    }
    await this.call(op, () =>
      this.octokit.rest.repos.createCommitStatus({
        ...repo,
        sha: spec.sha,
        context: spec.context,
        state: spec.state,
        ...(spec.description !== undefined ? { description: spec.description } : {}),
        ...(spec.targetUrl !== undefined ? { target_url: spec.targetUrl } : {}),
      }),
    );
    return { action: 'created' };
  }

  async ensureCheckRun(repo: RepoRef, spec: CheckRunSpec): Promise<{ id: number; action: WriteAction }> {
    const op = `check run ${spec.name} on ${repo.owner}/${repo.repo}@${spec.sha.slice(0, 12)}`;
    const runs = await this.call(op, () =>
      this.octokit.paginate(this.octokit.rest.checks.listForRef, {
        ...repo,
        ref: spec.sha,
        check_name: spec.name,
        per_page: 100,
      }),
    );
    const existing = runs.find((r) => r.external_id === spec.key);
    const fields = {
      name: spec.name,
      external_id: spec.key,
      output: { title: spec.title, summary: spec.summary },
      ...(spec.detailsUrl !== undefined ? { details_url: spec.detailsUrl } : {}),
      ...(spec.conclusion ? { conclusion: spec.conclusion } : { status: 'in_progress' as const }),
    };
    if (!existing) {
      const { data } = await this.call(op, () =>
        this.octokit.rest.checks.create({ ...repo, head_sha: spec.sha, ...fields }),
      );
      return { id: Number(data.id), action: 'created' };
    }
    const same =
      existing.output.title === spec.title &&
      existing.output.summary === spec.summary &&
      (existing.details_url ?? undefined) === spec.detailsUrl &&
      (spec.conclusion ? existing.conclusion === spec.conclusion : existing.status === 'in_progress');
    if (same) return { id: Number(existing.id), action: 'unchanged' };
    await this.call(op, () =>
      this.octokit.rest.checks.update({ ...repo, check_run_id: Number(existing.id), ...fields }),
    );
    return { id: Number(existing.id), action: 'updated' };
  }

  remoteUrl(repo: RepoRef): string {
    return `${gitBaseUrl(this.settings.apiUrl)}/${repo.owner}/${repo.repo}.git`;
  }

  async gitAuthEnv(): Promise<Record<string, string>> {
    const token = await this.call('git credential', () => this.token());
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    return {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: `http.${gitBaseUrl(this.settings.apiUrl)}/.extraHeader`,
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
      GIT_TERMINAL_PROMPT: '0',
    };
  }

  private async token(): Promise<string> {
    const { credential } = this.settings;
    if (credential.kind === 'token') return credential.token;
    const auth = (await this.octokit.auth({ type: 'installation' })) as { token: string };
    return auth.token;
  }

  private async labels(repo: RepoRef, issue: number): Promise<string[]> {
    const op = `labels of ${repo.owner}/${repo.repo}#${issue}`;
    const labels = await this.call(op, () =>
      this.octokit.paginate(this.octokit.rest.issues.listLabelsOnIssue, {
        ...repo,
        issue_number: issue,
        per_page: 100,
      }),
    );
    return labels.map((l) => l.name);
  }

  /** Runs one request; a refusal becomes a ForgeError with GitHub's message, a rate limit a ForgeRateLimitError. */
  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw githubFailure(this.name, operation, err);
    }
  }
}

/** The number a GitHub API URL ends with after `/<kind>/` (`…/pulls/12` → 12), or undefined. */
function numberAtEnd(url: string | undefined, kind: string): number | undefined {
  const m = new RegExp(`/${kind}/(\\d+)$`).exec(url ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The forge named by the worker's environment (see credentials.ts for the variables). */
export function forgeFromEnv(env: NodeJS.ProcessEnv = process.env): Forge {
  return new GitHubForge(githubSettingsFromEnv(env));
}

interface OctokitFailure {
  status?: number;
  cause?: unknown;
  message?: string;
  response?: { data?: unknown; headers?: Record<string, string | number | undefined> };
}

/** GitHub's answer as an error of ours: its message and field errors; never the request (it has the token). */
function githubFailure(forge: string, operation: string, err: unknown, nowMs = Date.now()): Error {
  const failure = err as OctokitFailure;
  const status = typeof failure?.status === 'number' ? failure.status : 0;
  const headers = failure?.response?.headers ?? {};
  const data = failure?.response?.data as
    | { message?: string; errors?: { resource?: string; field?: string; code?: string; message?: string }[] }
    | undefined;
  if (!failure?.response) {
    // no answer (Octokit calls it a 500): the forge is unreachable; say why, from the causes
    const causes = causeChain(failure?.cause);
    const reason = causes.length > 0 ? causes.join(': ') : String(failure?.message ?? err);
    return new ForgeError(forge, operation, 0, reason);
  }
  const message = [
    data?.message ?? `HTTP ${status}`,
    ...(data?.errors ?? []).map((e) =>
      e.message ? `${e.message}` : [e.resource, e.field, e.code].filter(Boolean).join(' '),
    ),
  ].join('; ');
  const retryAfter = Number(headers['retry-after']);
  const remaining = headers['x-ratelimit-remaining'];
  const reset = Number(headers['x-ratelimit-reset']);
  const limited =
    (status === 403 || status === 429) && (String(remaining) === '0' || Number.isFinite(retryAfter));
  if (limited) {
    const resetAtMs =
      Number.isFinite(retryAfter) && retryAfter >= 0
        ? nowMs + retryAfter * 1000
        : Number.isFinite(reset)
          ? reset * 1000
          : nowMs + 60_000;
    return new ForgeRateLimitError(forge, operation, status, message, resetAtMs);
  }
  return new ForgeError(forge, operation, status, message);
}

/** Why a request got no answer: each cause's code (ECONNREFUSED) or message, three at most. */
function causeChain(cause: unknown): string[] {
  const reasons: string[] = [];
  for (let c = cause as { cause?: unknown; code?: string; message?: string } | undefined; c; ) {
    reasons.push(c.code ?? c.message ?? String(c));
    if (reasons.length === 3) break;
    c = c.cause as typeof c;
  }
  return reasons;
}

/** The git host of an API URL: api.github.com → github.com; Enterprise's /api/v3 → its host; else itself. */
export function gitBaseUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === 'api.github.com') return `${url.protocol}//github.com`;
  const path = url.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}
