// A scripted forge with one repository whose bare remote has `main` and a run branch, for forge tests.

import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ScriptedForge, startScriptedForge } from '../../src/scripted-forge/server';

export const REPO = { owner: 'acme', repo: 'widgets' };
export const RUN_BRANCH = 'sop/bugfix/issue-7';

const identity = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

export function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...identity, ...env },
  });
}

/** git talking to the in-process forge: asynchronous, so the forge can answer while it runs. */
export function gitAsync(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      { cwd, encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...identity, ...env } },
      (err, stdout, stderr) =>
        err ? reject(new Error(`git ${args[0]}: ${stderr || err.message}`)) : resolve(stdout),
    );
    child.stdin?.end();
  });
}

/** A local clone-to-be with `main` and the run branch, one commit each. */
export function workingRepo(): { dir: string; mainSha: string; branchSha: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-forge-work-'));
  git(dir, ['init', '--quiet', '--initial-branch=main']);
  fs.writeFileSync(path.join(dir, 'README.md'), 'widgets\n');
  git(dir, ['add', '.']);
  git(dir, ['commit', '--quiet', '-m', 'start']);
  const mainSha = git(dir, ['rev-parse', 'HEAD']).trim();
  git(dir, ['checkout', '--quiet', '-b', RUN_BRANCH]);
  fs.writeFileSync(path.join(dir, 'fix.txt'), 'fixed\n');
  git(dir, ['add', '.']);
  git(dir, ['commit', '--quiet', '-m', 'fix']);
  const branchSha = git(dir, ['rev-parse', 'HEAD']).trim();
  return { dir, mainSha, branchSha };
}

/** A scripted forge with acme/widgets holding main and the run branch (pushed as files), and issue #1. */
export async function forgeWithRepo(): Promise<{
  forge: ScriptedForge;
  work: ReturnType<typeof workingRepo>;
  issue: number;
}> {
  const forge = await startScriptedForge();
  const { dir } = forge.addRepo(`${REPO.owner}/${REPO.repo}`);
  const work = workingRepo();
  git(work.dir, ['push', '--quiet', dir, 'main', RUN_BRANCH]);
  const issue = forge.addIssue(`${REPO.owner}/${REPO.repo}`, { title: 'widgets break on Mondays' });
  return { forge, work, issue };
}

/** An RSA key pair as GitHub issues an App's private key (PKCS#1 PEM). */
export function appKeyPair(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
}
