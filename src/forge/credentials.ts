// The worker's forge credential, read from its environment: a GitHub App (short-lived installation tokens)
// or a token. It stays with the worker: never in an agent's environment, a prompt, evidence, logs or history.

import { createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import type { EnvName } from '../config/env';
import { ForgeCredentialError } from './errors';

type GitHubCredential =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: string; privateKey: string; installationId: number };

export interface GitHubSettings {
  /** the REST API's base URL: https://api.github.com, https://HOST/api/v3 (Enterprise Server), a scripted forge */
  apiUrl: string;
  credential: GitHubCredential;
}

export const GITHUB_ENV = {
  apiUrl: 'SOP_GITHUB_API_URL',
  token: 'SOP_GITHUB_TOKEN',
  appId: 'SOP_GITHUB_APP_ID',
  privateKey: 'SOP_GITHUB_APP_PRIVATE_KEY',
  privateKeyFile: 'SOP_GITHUB_APP_PRIVATE_KEY_FILE',
  installationId: 'SOP_GITHUB_APP_INSTALLATION_ID',
} as const satisfies Record<string, EnvName>;

const NONE = `no GitHub credential: set ${GITHUB_ENV.token} to a token, or ${GITHUB_ENV.appId}, ${GITHUB_ENV.privateKeyFile} (or ${GITHUB_ENV.privateKey}) and ${GITHUB_ENV.installationId} for a GitHub App, in the worker's environment`;

/** The GitHub settings in the worker's environment; a missing or malformed one names its variable. */
export function githubSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): GitHubSettings {
  const apiUrl = (env.SOP_GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(apiUrl)) {
    throw new ForgeCredentialError(
      GITHUB_ENV.apiUrl,
      `${GITHUB_ENV.apiUrl}: "${apiUrl}" is not an http(s) URL (e.g. https://api.github.com)`,
    );
  }
  const app = [
    env.SOP_GITHUB_APP_ID,
    env.SOP_GITHUB_APP_PRIVATE_KEY,
    env.SOP_GITHUB_APP_PRIVATE_KEY_FILE,
    env.SOP_GITHUB_APP_INSTALLATION_ID,
  ];
  if (app.some(Boolean)) return { apiUrl, credential: appCredential(env) };
  const token = env.SOP_GITHUB_TOKEN?.trim();
  if (!token) throw new ForgeCredentialError(GITHUB_ENV.token, NONE);
  return { apiUrl, credential: { kind: 'token', token } };
}

function appCredential(env: NodeJS.ProcessEnv): GitHubCredential {
  const appId = env.SOP_GITHUB_APP_ID?.trim();
  if (!appId) throw missing(GITHUB_ENV.appId, 'the GitHub App id (a number, on the App settings page)');
  const installation = env.SOP_GITHUB_APP_INSTALLATION_ID?.trim();
  if (!installation) {
    throw missing(
      GITHUB_ENV.installationId,
      "the App installation's id (the number at the end of its settings URL)",
    );
  }
  const installationId = Number(installation);
  if (!Number.isSafeInteger(installationId) || installationId <= 0) {
    throw new ForgeCredentialError(
      GITHUB_ENV.installationId,
      `${GITHUB_ENV.installationId}: "${installation}" is not an installation id (a positive whole number)`,
    );
  }
  return { kind: 'app', appId, privateKey: privateKeyOf(env), installationId };
}

function privateKeyOf(env: NodeJS.ProcessEnv): string {
  const inline = env.SOP_GITHUB_APP_PRIVATE_KEY;
  const file = env.SOP_GITHUB_APP_PRIVATE_KEY_FILE;
  if (inline && file) {
    throw new ForgeCredentialError(
      GITHUB_ENV.privateKey,
      `${GITHUB_ENV.privateKey} and ${GITHUB_ENV.privateKeyFile} are both set: keep one`,
    );
  }
  if (!inline && !file) {
    throw missing(GITHUB_ENV.privateKeyFile, "the path of the App's private key (.pem)");
  }
  const variable = file ? GITHUB_ENV.privateKeyFile : GITHUB_ENV.privateKey;
  let pem: string;
  if (file) {
    try {
      pem = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ForgeCredentialError(variable, `${variable}: cannot read ${file} (${reason})`);
    }
  } else {
    // a key pasted into one line of an environment file keeps its line breaks as \n
    pem = (inline as string).replace(/\\n/g, '\n');
  }
  try {
    createPrivateKey(pem);
  } catch {
    throw new ForgeCredentialError(
      variable,
      `${variable}: not a PEM private key (the .pem GitHub generated for the App)`,
    );
  }
  return pem;
}

function missing(variable: string, what: string): ForgeCredentialError {
  return new ForgeCredentialError(variable, `${variable} is not set: the GitHub App needs ${what}`);
}
