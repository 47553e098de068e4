// GitHub's response bodies, typed from GitHub's published OpenAPI description (@octokit/openapi-types), so
// the scripted forge answers in the shapes a real client (Octokit) expects and a drift is a type error.

import type { components } from '@octokit/openapi-types';

export type Schemas = components['schemas'];
export type PullRequest = Schemas['pull-request'];
export type PullRequestSimple = Schemas['pull-request-simple'];
export type IssueComment = Schemas['issue-comment'];
export type Label = Schemas['label'];
export type CommitStatus = Schemas['status'];
export type CheckRun = Schemas['check-run'];
export type InstallationToken = Schemas['installation-token'];
export type BasicError = Schemas['basic-error'];
export type ValidationError = Schemas['validation-error'];

export const DOCS = 'https://docs.github.com/rest';
const STAMP = '2026-01-01T00:00:00Z';

export function simpleUser(base: string, login: string, id: number, type = 'User'): Schemas['simple-user'] {
  const url = `${base}/users/${login}`;
  return {
    login,
    id,
    node_id: `U_${id}`,
    avatar_url: `${base}/avatars/${login}`,
    gravatar_id: '',
    url,
    html_url: `${base}/${login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type,
    site_admin: false,
  };
}

/** A repository in GitHub's full shape (as a pull request's head and base carry it). */
export function repository(base: string, owner: string, name: string, id: number): Schemas['repository'] {
  const url = `${base}/repos/${owner}/${name}`;
  const html = `${base}/${owner}/${name}`;
  const u = (suffix: string) => `${url}/${suffix}`;
  return {
    id,
    node_id: `R_${id}`,
    name,
    full_name: `${owner}/${name}`,
    license: null,
    forks: 0,
    owner: simpleUser(base, owner, 1, 'Organization'),
    private: true,
    html_url: html,
    description: null,
    fork: false,
    url,
    archive_url: u('{archive_format}{/ref}'),
    assignees_url: u('assignees{/user}'),
    blobs_url: u('git/blobs{/sha}'),
    branches_url: u('branches{/branch}'),
    collaborators_url: u('collaborators{/collaborator}'),
    comments_url: u('comments{/number}'),
    commits_url: u('commits{/sha}'),
    compare_url: u('compare/{base}...{head}'),
    contents_url: u('contents/{+path}'),
    contributors_url: u('contributors'),
    deployments_url: u('deployments'),
    downloads_url: u('downloads'),
    events_url: u('events'),
    forks_url: u('forks'),
    git_commits_url: u('git/commits{/sha}'),
    git_refs_url: u('git/refs{/sha}'),
    git_tags_url: u('git/tags{/sha}'),
    git_url: `${html}.git`,
    issue_comment_url: u('issues/comments{/number}'),
    issue_events_url: u('issues/events{/number}'),
    issues_url: u('issues{/number}'),
    keys_url: u('keys{/key_id}'),
    labels_url: u('labels{/name}'),
    languages_url: u('languages'),
    merges_url: u('merges'),
    milestones_url: u('milestones{/number}'),
    notifications_url: u('notifications{?since,all,participating}'),
    pulls_url: u('pulls{/number}'),
    releases_url: u('releases{/id}'),
    ssh_url: `${html}.git`,
    stargazers_url: u('stargazers'),
    statuses_url: u('statuses/{sha}'),
    subscribers_url: u('subscribers'),
    subscription_url: u('subscription'),
    tags_url: u('tags'),
    teams_url: u('teams'),
    trees_url: u('git/trees{/sha}'),
    clone_url: `${html}.git`,
    mirror_url: null,
    hooks_url: u('hooks'),
    svn_url: html,
    homepage: null,
    language: null,
    forks_count: 0,
    stargazers_count: 0,
    watchers_count: 0,
    size: 0,
    default_branch: 'main',
    open_issues_count: 0,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: false,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: 'private',
    pushed_at: STAMP,
    created_at: STAMP,
    updated_at: STAMP,
    allow_rebase_merge: true,
    allow_squash_merge: true,
    allow_merge_commit: true,
    allow_forking: false,
    web_commit_signoff_required: false,
    open_issues: 0,
    watchers: 0,
  };
}

export function label(base: string, owner: string, repo: string, name: string, id: number): Label {
  return {
    id,
    node_id: `LA_${id}`,
    url: `${base}/repos/${owner}/${repo}/labels/${encodeURIComponent(name)}`,
    name,
    description: null,
    color: 'ededed',
    default: false,
  };
}

export function basicError(message: string, status: number): BasicError {
  return { message, documentation_url: DOCS, status: String(status) };
}

export function validationError(
  message: string,
  errors: { resource: string; field?: string; code: string; message?: string }[],
): ValidationError {
  return { message, errors, documentation_url: DOCS };
}
