// repo.url runs on a fleet (Temporal's worker-specific task queue pattern): the provisioning activity,
// taken from the shared queue by whichever worker is free, fetches the remote into a bare mirror in the
// worker's work root, adds a git worktree on the run branch and returns this worker's own queue, which
// every later activity of the run goes to. Accepted steps are committed on the run branch and pushed, so
// a run whose worker is lost is provisioned again elsewhere from the last pushed commit.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { envValue } from '../config/env';
import { forgeGitEnv } from '../forge/worker-forge';
import { workRootPath, workRootProblem } from '../harnesses/state-dir';
import {
  type CommitRequest,
  type CommitResult,
  type Provisioned,
  type ProvisionRequest,
  runBranch,
  WORKSPACE_INVALID,
} from '../shapes/workspace';
import { prepareSpare, spareFolder, sparesWanted, takeSpare } from './worktree-spares';

export interface WorkspaceActivityDeps {
  /** this worker's own task queue (`sop worker` polls it next to the shared one) */
  workerQueue?: string;
  /** default: SOP_WORK_ROOT, or <state folder>/work */
  workRoot?: string;
  /** how long the fleet waits for a silent worker before provisioning its runs elsewhere */
  lostAfterMs?: number;
  /** where the forge credential is read (SOP_GITHUB_*): a remote on that forge is fetched and pushed with it */
  forgeEnv?: NodeJS.ProcessEnv;
}

/** The trailer naming the accepted step a commit holds (what makes a commit idempotent). */
const KEY_TRAILER = 'Sop-Key';
const KEYS_RETURNED = 200;

export type WorkspaceActivities = ReturnType<typeof createWorkspaceActivities>;

export function createWorkspaceActivities(deps: WorkspaceActivityDeps = {}) {
  return {
    async provisionWorkspace(request: ProvisionRequest): Promise<Provisioned> {
      return heartbeating(() => provision(request));
    },

    /** Commits everything the accepted step left in the worktree (one commit per step) and pushes it. */
    async commitStep(request: CommitRequest): Promise<CommitResult> {
      return heartbeating(() => commit(request));
    },
  };

  async function provision(request: ProvisionRequest): Promise<Provisioned> {
    const queue = deps.workerQueue;
    if (!queue) {
      // another worker of the shared queue may have one: retryable
      throw ApplicationFailure.create({
        type: 'SopNoWorkerQueue',
        message: `worker ${os.hostname()} has no worker-specific task queue (started without \`sop worker\`), so it cannot provision repo.url workspaces`,
      });
    }
    const root = deps.workRoot ?? workRootPath();
    const problem = workRootProblem(root);
    if (problem) invalid(problem);
    const mirror = path.join(root, 'repos', `${repoKey(request.url)}.git`);
    const branch = runBranch(request.sop, request.taskId);
    const worktree = path.join(root, 'runs', request.sop, request.taskId);
    const spares = sparesWanted() ? spareFolder(root, mirror) : undefined;
    const provisioned = await withLock(mirror, async () => {
      await fetchMirror(mirror, request.url, await forgeGitEnv(request.url, deps.forgeEnv));
      const remoteBranch = await revParse(mirror, `refs/remotes/origin/${branch}`);
      const base = request.base ?? (await startCommit(mirror, request));
      const baseBranch = request.base ? request.baseBranch : await startBranch(mirror, request.ref);
      const start = remoteBranch ?? base;
      await git(mirror, ['worktree', 'prune']);
      if (fs.existsSync(worktree)) {
        await git(mirror, ['worktree', 'remove', '--force', worktree]).catch(() => undefined);
        fs.rmSync(worktree, { recursive: true, force: true });
        await git(mirror, ['worktree', 'prune']);
      }
      fs.mkdirSync(path.dirname(worktree), { recursive: true });
      // the spare checkout the last provisioning left, else a fresh worktree
      if (!(spares && (await takeSpare(mirror, spares, worktree, branch, start))))
        await git(mirror, ['worktree', 'add', '--force', '-B', branch, worktree, start]);
      const keys = remoteBranch ? await commitKeys(worktree, `${base}..HEAD`) : [];
      return {
        placement: {
          queue,
          host: os.hostname(),
          workspace: worktree,
          remote: request.url,
          branch,
          base,
          ...(baseBranch ? { baseBranch } : {}),
          head: start,
          lostAfterMs: deps.lostAfterMs ?? envValue('SOP_WORKER_LOST_AFTER_MS'),
          provisions: 1,
        },
        keys,
      };
    });
    // the next run of this repository on this worker: a checkout made now, after this one returned
    if (spares) {
      const start = provisioned.placement.head;
      const made = withLock(mirror, () => prepareSpare(mirror, spares, start));
      pendingSpares.add(made);
      void made.finally(() => pendingSpares.delete(made));
    }
    return provisioned;
  }

  async function push(workspace: string, branch: string): Promise<void> {
    const { stdout } = await git(workspace, ['remote', 'get-url', 'origin']);
    await pushBranch(workspace, branch, await forgeGitEnv(stdout.trim(), deps.forgeEnv));
  }

  async function commit(request: CommitRequest): Promise<CommitResult> {
    const { workspace, branch, key } = request;
    const [already] = await commitKeys(workspace, 'HEAD', key);
    if (already) {
      await push(workspace, branch);
      return { commit: (await revParse(workspace, 'HEAD'))!, created: false, pushed: true };
    }
    await git(workspace, ['add', '-A']);
    await git(workspace, [
      ...(await identity(workspace)),
      'commit',
      '--quiet',
      '--allow-empty',
      '--no-verify',
      '-m',
      [
        request.subject,
        '',
        ...Object.entries({ ...request.trailers, [KEY_TRAILER]: key }).map(([k, v]) => `${k}: ${v}`),
      ].join('\n'),
    ]);
    await push(workspace, branch);
    return { commit: (await revParse(workspace, 'HEAD'))!, created: true, pushed: true };
  }
}

const pendingSpares = new Set<Promise<void>>();

/** Resolves once no spare checkout is being made (tests and the benchmark wait for the worker to be idle). */
export async function sparesSettled(): Promise<void> {
  while (pendingSpares.size) await Promise.all([...pendingSpares]);
}

/** Heartbeats while `work` runs (in an activity), so a worker that dies on the way is noticed quickly. */
async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  let context: Context | undefined;
  try {
    context = Context.current();
  } catch {
    // called outside an activity (the benchmark)
  }
  const beat = context && setInterval(() => context.heartbeat(), 1_000);
  try {
    return await work();
  } finally {
    if (beat) clearInterval(beat);
  }
}

/** The queue name of one worker process: the shared queue, the host and a random suffix. */
export function workerQueueName(sharedQueue: string, suffix: string): string {
  return `${sharedQueue}@${os.hostname()}-${suffix}`;
}

async function fetchMirror(mirror: string, url: string, auth: Record<string, string>): Promise<void> {
  const fresh = !fs.existsSync(path.join(mirror, 'HEAD'));
  if (fresh) {
    // a bare clone first (a local remote is hard-linked, not packed), then remote-tracking branches
    fs.mkdirSync(path.dirname(mirror), { recursive: true });
    const cloned = await execa('git', ['clone', '--quiet', '--bare', url, mirror], {
      reject: false,
      stdin: 'ignore',
      env: auth,
    });
    if (cloned.exitCode !== 0) {
      // never fetched: most likely a wrong url, and the run fails at once
      fs.rmSync(mirror, { recursive: true, force: true });
      invalid(`repo.url: cannot fetch ${url}: ${lastLine(cloned.stderr)}`);
    }
    await git(mirror, ['config', 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*']);
  }
  const fetched = await execa('git', ['fetch', '--quiet', '--prune', '--tags', 'origin'], {
    cwd: mirror,
    reject: false,
    stdin: 'ignore',
    env: auth,
  });
  // the remote may be down for a moment: Temporal retries
  if (fetched.exitCode !== 0) throw new Error(`repo.url: cannot fetch ${url}: ${lastLine(fetched.stderr)}`);
  await execa('git', ['remote', 'set-head', 'origin', '--auto'], { cwd: mirror, reject: false, env: auth });
}

/** The commit repo.ref names (a branch of the remote, a tag or a commit), or the remote's default branch. */
async function startCommit(mirror: string, request: ProvisionRequest): Promise<string> {
  const ref = request.ref;
  const candidates = ref
    ? [`refs/remotes/origin/${ref}`, `refs/tags/${ref}`, ref]
    : ['refs/remotes/origin/HEAD', 'refs/remotes/origin/main', 'refs/remotes/origin/master'];
  for (const candidate of candidates) {
    const commit = await revParse(mirror, candidate);
    if (commit) return commit;
  }
  return invalid(
    ref
      ? `repo.ref: "${ref}" is no branch, tag or commit of ${request.url}`
      : `repo.url: ${request.url} has no default branch (is it empty?); push a commit or give repo.ref`,
  );
}

/** The remote's branch a run starts from: repo.ref when it is one, else the remote's default branch. */
async function startBranch(mirror: string, ref: string | undefined): Promise<string | undefined> {
  if (ref) return (await revParse(mirror, `refs/remotes/origin/${ref}`)) ? ref : undefined;
  const head = await execa('git', ['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'], {
    cwd: mirror,
    reject: false,
    stdin: 'ignore',
  });
  const name = head.exitCode === 0 ? head.stdout.trim().replace(/^origin\//, '') : '';
  if (name) return name;
  for (const fallback of ['main', 'master'])
    if (await revParse(mirror, `refs/remotes/origin/${fallback}`)) return fallback;
  return undefined;
}

/** The Sop-Key trailers of the commits in `range` (or the newest one carrying `key`). */
async function commitKeys(cwd: string, range: string, key?: string): Promise<string[]> {
  const args = ['log', `--format=%(trailers:key=${KEY_TRAILER},valueonly)`, `-n${KEYS_RETURNED}`];
  if (key) args.push('--fixed-strings', `--grep=${KEY_TRAILER}: ${key}`, '-n1');
  const { stdout } = await git(cwd, [...args, range]);
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && (key === undefined || l === key));
}

async function pushBranch(workspace: string, branch: string, auth: Record<string, string>): Promise<void> {
  const pushed = await execa('git', ['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], {
    cwd: workspace,
    reject: false,
    stdin: 'ignore',
    env: auth,
  });
  if (pushed.exitCode !== 0) throw new Error(`cannot push ${branch}: ${lastLine(pushed.stderr)}`);
}

async function revParse(cwd: string, ref: string): Promise<string | undefined> {
  const r = await execa('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    cwd,
    reject: false,
  });
  return r.exitCode === 0 ? String(r.stdout).trim() : undefined;
}

/** A committer for workers whose git has none configured. */
async function identity(cwd: string): Promise<string[]> {
  const email = await execa('git', ['config', 'user.email'], { cwd, reject: false });
  if (email.exitCode === 0 && String(email.stdout).trim()) return [];
  return ['-c', 'user.name=sop-runtime', '-c', `user.email=sop-runtime@${os.hostname()}`];
}

async function git(cwd: string, args: string[]) {
  const r = await execa('git', args, { cwd, reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`git ${args[0]} in ${cwd} failed: ${lastLine(r.stderr)}`);
  return { stdout: String(r.stdout) };
}

const lastLine = (text: unknown) => String(text).trim().split('\n').pop() ?? '';

/** One folder per remote: a readable name and a hash of the url (credentials stay out of the name). */
function repoKey(url: string): string {
  const name = (/([^/:]+?)(\.git)?\/?$/.exec(url)?.[1] ?? 'repo').replace(/[^A-Za-z0-9._-]/g, '_');
  return `${name}-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
}

function invalid(message: string): never {
  throw ApplicationFailure.create({ type: WORKSPACE_INVALID, message, nonRetryable: true });
}

// Runs provisioned at once on one worker share its mirror: one git operation on it at a time.
const locks = new Map<string, Promise<unknown>>();
async function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = locks.get(key) ?? Promise.resolve();
  const mine = before.then(work, work);
  const settled = mine.catch(() => undefined);
  locks.set(key, settled);
  try {
    return await mine;
  } finally {
    if (locks.get(key) === settled) locks.delete(key);
  }
}
