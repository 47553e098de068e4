// What the scripted forge holds: repositories (each a bare git repository on disk), their issues and pull
// requests (one number space, as on GitHub), comments, labels, commit statuses and check runs.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface PullState {
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  /** logins asked to review */
  requestedReviewers: string[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
}

export interface IssueState {
  number: number;
  id: number;
  title: string;
  body: string | null;
  labels: string[];
  user: string;
  /** set when this number is a pull request */
  pull?: PullState;
}

export interface CommentState {
  id: number;
  issue: number;
  body: string;
  user: string;
  /** GitHub's author_association of the commenter (OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE …; default NONE) */
  association?: string;
  createdAt: string;
  updatedAt: string;
}

export interface StatusState {
  id: number;
  sha: string;
  state: 'error' | 'failure' | 'pending' | 'success';
  context: string;
  description: string | null;
  targetUrl: string | null;
  creator: string;
  createdAt: string;
}

export interface CheckRunState {
  id: number;
  name: string;
  headSha: string;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
  conclusion: string | null;
  externalId: string | null;
  detailsUrl: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  startedAt: string | null;
  completedAt: string | null;
  appId: number;
}

export interface RepoState {
  owner: string;
  name: string;
  id: number;
  /** the bare git repository this forge repository is */
  dir: string;
  issues: Map<number, IssueState>;
  comments: Map<number, CommentState>;
  statuses: StatusState[];
  checkRuns: Map<number, CheckRunState>;
  /** labels that exist in the repository (adding one to an issue creates it, as GitHub does) */
  labelIds: Map<string, number>;
  nextNumber: number;
}

export class ForgeState {
  readonly repos = new Map<string, RepoState>();
  private nextId = 1000;

  constructor(readonly root: string) {}

  id(): number {
    return this.nextId++;
  }

  addRepo(fullName: string, defaultBranch = 'main'): RepoState {
    const [owner, name, ...rest] = fullName.split('/');
    if (!owner || !name || rest.length > 0) throw new Error(`repository "${fullName}" is not owner/name`);
    const key = `${owner}/${name}`.toLowerCase();
    const existing = this.repos.get(key);
    if (existing) return existing;
    const dir = path.join(this.root, owner, `${name}.git`);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    git(this.root, ['init', '--bare', '--quiet', `--initial-branch=${defaultBranch}`, dir]);
    const repo: RepoState = {
      owner,
      name,
      id: this.id(),
      dir,
      issues: new Map(),
      comments: new Map(),
      statuses: [],
      checkRuns: new Map(),
      labelIds: new Map(),
      nextNumber: 1,
    };
    this.repos.set(key, repo);
    return repo;
  }

  repo(owner: string, name: string): RepoState | undefined {
    return this.repos.get(`${owner}/${name}`.toLowerCase());
  }

  addIssue(repo: RepoState, issue: { title: string; body?: string | null; user: string; labels?: string[] }) {
    const state: IssueState = {
      number: repo.nextNumber++,
      id: this.id(),
      title: issue.title,
      body: issue.body ?? null,
      labels: [],
      user: issue.user,
    };
    for (const name of issue.labels ?? []) this.attachLabel(repo, state, name);
    repo.issues.set(state.number, state);
    return state;
  }

  attachLabel(repo: RepoState, issue: IssueState, name: string): void {
    const known = [...repo.labelIds.keys()].find((l) => l.toLowerCase() === name.toLowerCase());
    if (!known) repo.labelIds.set(name, this.id());
    const canonical = known ?? name;
    if (!issue.labels.includes(canonical)) issue.labels.push(canonical);
  }
}

/** The commit a branch or SHA names in a bare repository, or undefined. */
export function resolveCommit(repo: RepoState, ref: string): string | undefined {
  if (!/^[\w./-]+$/.test(ref) || ref.startsWith('-')) return undefined;
  const candidates = /^[0-9a-f]{40}$/.test(ref) ? [ref] : [`refs/heads/${ref}`, ref];
  for (const candidate of candidates) {
    try {
      return git(repo.dir, ['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`]).trim();
    } catch {
      // not this one
    }
  }
  return undefined;
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
