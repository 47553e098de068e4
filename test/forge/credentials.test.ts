// The worker's GitHub credential from its environment: a missing or malformed one names its variable and
// never echoes a secret.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { githubSettingsFromEnv } from '../../src/forge/credentials';
import { ForgeCredentialError } from '../../src/forge/errors';
import { gitBaseUrl } from '../../src/forge/github';
import { appKeyPair } from '../support/scripted-forge';

const refusal = (env: NodeJS.ProcessEnv) => {
  try {
    githubSettingsFromEnv(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ForgeCredentialError);
    return err as ForgeCredentialError;
  }
  throw new Error('the environment was accepted');
};

test('no credential at all names the token and the App variables', () => {
  const err = refusal({});
  expect(err.variable).toBe('SOP_GITHUB_TOKEN');
  expect(err.message).toBe(
    "no GitHub credential: set SOP_GITHUB_TOKEN to a token, or SOP_GITHUB_APP_ID, SOP_GITHUB_APP_PRIVATE_KEY_FILE (or SOP_GITHUB_APP_PRIVATE_KEY) and SOP_GITHUB_APP_INSTALLATION_ID for a GitHub App, in the worker's environment",
  );
});

test('a token, with the default API URL or another one', () => {
  expect(githubSettingsFromEnv({ SOP_GITHUB_TOKEN: 't0k' })).toEqual({
    apiUrl: 'https://api.github.com',
    credential: { kind: 'token', token: 't0k' },
  });
  expect(
    githubSettingsFromEnv({ SOP_GITHUB_TOKEN: 't0k', SOP_GITHUB_API_URL: 'https://ghe.example/api/v3/' })
      .apiUrl,
  ).toBe('https://ghe.example/api/v3');
  expect(refusal({ SOP_GITHUB_TOKEN: 't0k', SOP_GITHUB_API_URL: 'ghe.example' }).variable).toBe(
    'SOP_GITHUB_API_URL',
  );
});

test('a partial App configuration names the variable it lacks', () => {
  const { privateKey } = appKeyPair();
  const full = {
    SOP_GITHUB_APP_ID: '12',
    SOP_GITHUB_APP_PRIVATE_KEY: privateKey,
    SOP_GITHUB_APP_INSTALLATION_ID: '34',
  };
  expect(githubSettingsFromEnv(full).credential).toEqual({
    kind: 'app',
    appId: '12',
    privateKey,
    installationId: 34,
  });
  // an App variable means App auth: a token alongside is not a silent fallback
  expect(refusal({ ...full, SOP_GITHUB_APP_ID: '', SOP_GITHUB_TOKEN: 't' }).variable).toBe(
    'SOP_GITHUB_APP_ID',
  );
  expect(refusal({ ...full, SOP_GITHUB_APP_INSTALLATION_ID: undefined }).variable).toBe(
    'SOP_GITHUB_APP_INSTALLATION_ID',
  );
  expect(refusal({ ...full, SOP_GITHUB_APP_INSTALLATION_ID: 'abc' }).message).toBe(
    'SOP_GITHUB_APP_INSTALLATION_ID: "abc" is not an installation id (a positive whole number)',
  );
  expect(refusal({ ...full, SOP_GITHUB_APP_PRIVATE_KEY: undefined }).variable).toBe(
    'SOP_GITHUB_APP_PRIVATE_KEY_FILE',
  );
});

test('the private key from a file; an unreadable or malformed key is named, its content never shown', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-forge-key-'));
  try {
    const { privateKey } = appKeyPair();
    const file = path.join(dir, 'app.pem');
    fs.writeFileSync(file, privateKey);
    const app = { SOP_GITHUB_APP_ID: '12', SOP_GITHUB_APP_INSTALLATION_ID: '34' };
    expect(githubSettingsFromEnv({ ...app, SOP_GITHUB_APP_PRIVATE_KEY_FILE: file }).credential).toMatchObject(
      {
        privateKey,
      },
    );
    expect(refusal({ ...app, SOP_GITHUB_APP_PRIVATE_KEY_FILE: path.join(dir, 'none.pem') }).message).toBe(
      `SOP_GITHUB_APP_PRIVATE_KEY_FILE: cannot read ${path.join(dir, 'none.pem')} (ENOENT)`,
    );
    const garbage = 'not-a-key-SECRET-material';
    const bad = refusal({ ...app, SOP_GITHUB_APP_PRIVATE_KEY: garbage });
    expect(bad.message).toBe(
      'SOP_GITHUB_APP_PRIVATE_KEY: not a PEM private key (the .pem GitHub generated for the App)',
    );
    expect(
      refusal({ ...app, SOP_GITHUB_APP_PRIVATE_KEY: privateKey, SOP_GITHUB_APP_PRIVATE_KEY_FILE: file })
        .message,
    ).toBe('SOP_GITHUB_APP_PRIVATE_KEY and SOP_GITHUB_APP_PRIVATE_KEY_FILE are both set: keep one');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the git host of an API URL', () => {
  expect(gitBaseUrl('https://api.github.com')).toBe('https://github.com');
  expect(gitBaseUrl('https://ghe.example/api/v3')).toBe('https://ghe.example');
  expect(gitBaseUrl('http://127.0.0.1:4567')).toBe('http://127.0.0.1:4567');
});
