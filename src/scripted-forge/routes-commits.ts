// Commit statuses, check runs and the App installation-token exchange, as GitHub's REST API answers them.

import type { operations } from '@octokit/openapi-types';
import {
  bodyObject,
  custom,
  HttpError,
  invalid,
  notFound,
  now,
  oneOf,
  optionalString,
  paginate,
  type Route,
  type RouteContext,
  requiredString,
} from './route-kit';
import { userId } from './routes-issues';
import type { CheckRun, CommitStatus, InstallationToken, Schemas } from './shapes';
import { simpleUser } from './shapes';
import { type CheckRunState, resolveCommit, type StatusState } from './state';

type CreateCheck = operations['checks/create']['requestBody']['content']['application/json'];
const STATES = ['error', 'failure', 'pending', 'success'] as const;
const CHECK_STATUSES = ['queued', 'in_progress', 'completed', 'waiting', 'requested', 'pending'] as const;
const CONCLUSIONS = [
  'action_required',
  'cancelled',
  'failure',
  'neutral',
  'success',
  'skipped',
  'stale',
  'timed_out',
] as const;

export const commitRoutes: Route[] = [
  { method: 'POST', path: '/repos/{owner}/{repo}/statuses/{sha}', auth: 'token', handler: createStatus },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/commits/{ref}/statuses',
    auth: 'token',
    handler: (ctx) => {
      // as on GitHub, a ref it does not know has no statuses (creating one is what fails)
      const sha = resolveCommit(ctx.repo, ctx.params.ref);
      const list = ctx.repo.statuses.filter((s) => s.sha === sha).reverse();
      const path = `/repos/${ctx.repo.owner}/${ctx.repo.name}/commits/${ctx.params.ref}/statuses`;
      return { status: 200, body: paginate(ctx, list, path).map((s) => statusBody(ctx, s)) };
    },
  },
  { method: 'POST', path: '/repos/{owner}/{repo}/check-runs', auth: 'installation', handler: createCheck },
  {
    method: 'PATCH',
    path: '/repos/{owner}/{repo}/check-runs/{check_run_id}',
    auth: 'installation',
    handler: updateCheck,
  },
  {
    method: 'GET',
    path: '/repos/{owner}/{repo}/commits/{ref}/check-runs',
    auth: 'token',
    handler: (ctx) => {
      const sha = commitOf(ctx);
      const runs = [...ctx.repo.checkRuns.values()]
        .filter((r) => r.headSha === sha && (!ctx.query.check_name || r.name === ctx.query.check_name))
        .reverse();
      const path = `/repos/${ctx.repo.owner}/${ctx.repo.name}/commits/${ctx.params.ref}/check-runs`;
      const page = paginate(ctx, runs, path);
      return {
        status: 200,
        body: { total_count: runs.length, check_runs: page.map((r) => checkBody(ctx, r)) },
      };
    },
  },
  {
    method: 'POST',
    path: '/app/installations/{installation_id}/access_tokens',
    auth: 'jwt',
    handler: (ctx) => {
      if (ctx.identity.kind !== 'app') throw notFound();
      const issued = ctx.auth.issueInstallationToken(ctx.identity, Number(ctx.params.installation_id));
      const body: InstallationToken = {
        token: issued.token,
        expires_at: issued.expiresAt,
        permissions: {
          pull_requests: 'write',
          issues: 'write',
          statuses: 'write',
          checks: 'write',
          contents: 'write',
        },
        repository_selection: 'all',
      };
      return { status: 201, body };
    },
  },
];

function commitOf(ctx: RouteContext, param = 'ref'): string {
  const sha = resolveCommit(ctx.repo, ctx.params[param]);
  if (!sha) throw custom('Commit', `No commit found for SHA: ${ctx.params[param]}`);
  return sha;
}

function createStatus(ctx: RouteContext) {
  const body = bodyObject(ctx);
  const state = oneOf(
    requiredString(body, 'state', 'Status'),
    STATES,
    'Status',
    'state',
  ) as StatusState['state'];
  const description = optionalString(body, 'description', 'Status') ?? null;
  if (description && description.length > 140) {
    throw invalid('Status', 'description', 'custom', 'description is too long (maximum is 140 characters)');
  }
  const sha = resolveCommit(ctx.repo, ctx.params.sha);
  if (!sha || sha !== ctx.params.sha) {
    throw new HttpError(422, {
      message: `No commit found for SHA: ${ctx.params.sha}`,
      documentation_url: 'https://docs.github.com/rest/commits/statuses#create-a-commit-status',
    });
  }
  const status: StatusState = {
    id: ctx.state.id(),
    sha,
    state,
    context: optionalString(body, 'context', 'Status') ?? 'default',
    description,
    targetUrl: optionalString(body, 'target_url', 'Status') ?? null,
    creator: ctx.identity.login,
    createdAt: now(),
  };
  ctx.repo.statuses.push(status);
  return { status: 201, body: statusBody(ctx, status) };
}

function statusBody(ctx: RouteContext, s: StatusState): CommitStatus {
  return {
    url: `${ctx.base}/repos/${ctx.repo.owner}/${ctx.repo.name}/statuses/${s.sha}`,
    avatar_url: null,
    id: s.id,
    node_id: `SC_${s.id}`,
    state: s.state,
    description: s.description,
    target_url: s.targetUrl,
    context: s.context,
    created_at: s.createdAt,
    updated_at: s.createdAt,
    creator: simpleUser(ctx.base, s.creator, userId(s.creator)),
  };
}

function checkFields(run: CheckRunState, body: Record<string, unknown>): void {
  const status = oneOf(body.status, CHECK_STATUSES, 'CheckRun', 'status');
  const conclusion = oneOf(body.conclusion, CONCLUSIONS, 'CheckRun', 'conclusion');
  if (status !== undefined) run.status = status;
  if (status !== undefined && status !== 'completed' && conclusion === undefined) {
    run.conclusion = null;
    run.completedAt = null;
  }
  if (conclusion !== undefined) {
    run.conclusion = conclusion;
    run.status = 'completed';
  }
  if (run.status === 'completed' && !run.conclusion) throw invalid('CheckRun', 'conclusion', 'missing_field');
  if (run.status === 'completed') run.completedAt ??= now();
  run.detailsUrl = optionalString(body, 'details_url', 'CheckRun') ?? run.detailsUrl;
  run.externalId = optionalString(body, 'external_id', 'CheckRun') ?? run.externalId;
  run.name = optionalString(body, 'name', 'CheckRun') ?? run.name;
  if (body.output !== undefined) {
    const output = (typeof body.output === 'object' && body.output) as Record<string, unknown> | false;
    if (!output) throw invalid('CheckRun', 'output');
    const summary = requiredString(output, 'summary', 'CheckRun');
    const title = optionalString(output, 'title', 'CheckRun') ?? run.output.title;
    if (!title) throw invalid('CheckRun', 'title', 'missing_field');
    run.output = { title, summary, text: optionalString(output, 'text', 'CheckRun') ?? null };
  }
}

function createCheck(ctx: RouteContext) {
  const body = bodyObject(ctx) as Partial<CreateCheck> & Record<string, unknown>;
  const name = requiredString(body, 'name', 'CheckRun');
  const headSha = requiredString(body, 'head_sha', 'CheckRun');
  if (resolveCommit(ctx.repo, headSha) !== headSha) throw invalid('CheckRun', 'head_sha');
  const run: CheckRunState = {
    id: ctx.state.id(),
    name,
    headSha,
    status: 'queued',
    conclusion: null,
    externalId: null,
    detailsUrl: null,
    output: { title: null, summary: null, text: null },
    startedAt: now(),
    completedAt: null,
    appId: ctx.identity.kind === 'installation' ? ctx.identity.appId : 0,
  };
  checkFields(run, body);
  ctx.repo.checkRuns.set(run.id, run);
  return { status: 201, body: checkBody(ctx, run) };
}

function updateCheck(ctx: RouteContext) {
  const run = ctx.repo.checkRuns.get(Number(ctx.params.check_run_id));
  if (!run) throw notFound();
  if (ctx.identity.kind !== 'installation' || ctx.identity.appId !== run.appId) {
    throw new HttpError(403, {
      message:
        'Invalid app_id `' +
        run.appId +
        '` - check run can only be modified by the GitHub App that created it.',
      documentation_url: 'https://docs.github.com/rest/checks/runs#update-a-check-run',
    });
  }
  const next = { ...run, output: { ...run.output } };
  checkFields(next, bodyObject(ctx));
  Object.assign(run, next);
  return { status: 200, body: checkBody(ctx, run) };
}

function checkBody(ctx: RouteContext, r: CheckRunState): CheckRun {
  const url = `${ctx.base}/repos/${ctx.repo.owner}/${ctx.repo.name}/check-runs/${r.id}`;
  const suite: Schemas['check-run']['check_suite'] = { id: r.id };
  return {
    id: r.id,
    head_sha: r.headSha,
    node_id: `CR_${r.id}`,
    external_id: r.externalId,
    url,
    html_url: `${ctx.base}/${ctx.repo.owner}/${ctx.repo.name}/runs/${r.id}`,
    details_url: r.detailsUrl,
    status: r.status,
    conclusion: r.conclusion as CheckRun['conclusion'],
    started_at: r.startedAt,
    completed_at: r.completedAt,
    output: {
      title: r.output.title,
      summary: r.output.summary,
      text: r.output.text,
      annotations_count: 0,
      annotations_url: `${url}/annotations`,
    },
    name: r.name,
    check_suite: suite,
    app: null,
    pull_requests: [],
  };
}
