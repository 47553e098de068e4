// The worker's forge: one client per worker environment (an App's installation token is cached and renewed
// inside it), the repository a run's remote names, and git's credential for a remote on that forge. The
// credential goes to the worker's own git only: an agent's environment is built from a short list
// (harnesses/common.ts) and command steps get the worker's environment without these variables.

import { GITHUB_ENV, githubSettingsFromEnv } from './credentials';
import type { Forge, RepoRef } from './forge';
import { GitHubForge, gitBaseUrl } from './github';

const forges = new Map<string, Forge>();

/** The forge of this environment's credential (throws ForgeCredentialError naming a missing variable). */
export function workerForge(env: NodeJS.ProcessEnv = process.env): Forge {
  const settings = githubSettingsFromEnv(env);
  const id = JSON.stringify(settings);
  let forge = forges.get(id);
  if (!forge) {
    forge = new GitHubForge(settings);
    forges.set(id, forge);
  }
  return forge;
}

/** Whether the environment names a forge credential at all (a remote elsewhere needs none). */
function hasForgeCredential(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(
    env.SOP_GITHUB_TOKEN ||
      env.SOP_GITHUB_APP_ID ||
      env.SOP_GITHUB_APP_PRIVATE_KEY ||
      env.SOP_GITHUB_APP_PRIVATE_KEY_FILE ||
      env.SOP_GITHUB_APP_INSTALLATION_ID,
  );
}

/** `owner/name` of a remote URL on a forge (`https://github.com/acme/widgets.git`, `git@host:acme/w.git`). */
export function repoOfUrl(url: string): RepoRef | undefined {
  const m = /[/:]([\w.-]+)\/([\w.-]+?)(?:\.git)?\/?$/.exec(url.trim());
  return m ? { owner: m[1], repo: m[2] } : undefined;
}

/** `owner/name` as a RepoRef, or undefined when it is not one. */
export function parseRepo(fullName: string): RepoRef | undefined {
  const m = /^([\w.-]+)\/([\w.-]+)$/.exec(fullName.trim());
  return m ? { owner: m[1], repo: m[2] } : undefined;
}

/**
 * git's environment for a fetch or push of `url`: the forge credential when the URL is on the forge of the
 * worker's credential, else nothing (a local or another remote keeps git's own credential handling).
 */
export async function forgeGitEnv(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<string, string>> {
  if (!hasForgeCredential(env) || !/^https?:\/\//.test(url)) return {};
  const forge = workerForge(env);
  const apiUrl = (env.SOP_GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  if (!url.startsWith(`${gitBaseUrl(apiUrl)}/`)) return {};
  return forge.gitAuthEnv();
}

/** The worker's environment without the forge credential: for command steps and anything an SOP runs. */
export function withoutForgeCredential(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  const secret = new Set<string>(Object.values(GITHUB_ENV).filter((n) => n !== GITHUB_ENV.apiUrl));
  for (const [name, value] of Object.entries(env)) if (!secret.has(name)) out[name] = value;
  return out;
}
