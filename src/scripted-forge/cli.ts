// `node dist/scripted-forge/cli.js --repo OWNER/NAME [--repo ...] [--port N] [--root DIR]
//   [--app-id N --app-public-key FILE --installation-id N] [--webhook URL] [--user LOGIN ...]`
// Serves a scripted forge until SIGINT/SIGTERM and prints its URL. The token it accepts is the one in
// SOP_GITHUB_TOKEN, so a worker with the same environment talks to it with SOP_GITHUB_API_URL set to the
// printed URL; the token never appears in argv. `--webhook URL` delivers a GitHub App's webhooks there,
// signed with SOP_GITHUB_WEBHOOK_SECRET; each `--user LOGIN` is a person (a reviewer) whose token is
// `scripted-LOGIN`, said on stderr.

import * as fs from 'node:fs';
import { startScriptedForge } from './server';

async function main(argv: string[]): Promise<void> {
  const all = (name: string) => argv.flatMap((a, i) => (a === name && argv[i + 1] ? [argv[i + 1]] : []));
  const one = (name: string) => all(name)[0];
  const repos = all('--repo');
  if (repos.length === 0) {
    process.stderr.write(
      'usage: scripted-forge --repo OWNER/NAME [--repo ...] [--port N] [--root DIR]\n' +
        '       [--app-id N --app-public-key FILE --installation-id N]\n',
    );
    process.exit(2);
  }
  const root = one('--root');
  const hook = one('--webhook');
  const secret = process.env.SOP_GITHUB_WEBHOOK_SECRET;
  if (hook && !secret) throw new Error('--webhook needs the App webhook secret in SOP_GITHUB_WEBHOOK_SECRET');
  const forge = await startScriptedForge({
    port: Number(one('--port') ?? 0),
    ...(root ? { root } : {}),
    ...(hook && secret ? { webhook: { url: hook, secret } } : {}),
  });
  for (const login of all('--user')) {
    forge.addToken(`scripted-${login}`, { login });
    process.stderr.write(`user ${login}: token scripted-${login}\n`);
  }
  for (const repo of repos) forge.addRepo(repo);
  const token = process.env.SOP_GITHUB_TOKEN;
  if (token) forge.addToken(token, { login: 'sop-user' });
  const appId = one('--app-id');
  if (appId) {
    const keyFile = one('--app-public-key');
    const installation = one('--installation-id');
    if (!keyFile || !installation)
      throw new Error('--app-id needs --app-public-key FILE and --installation-id N');
    forge.addApp({ appId: Number(appId), publicKey: fs.readFileSync(keyFile, 'utf8') });
    forge.addInstallation(Number(installation), Number(appId));
  }
  if (!token && !appId) throw new Error('no credential to accept: set SOP_GITHUB_TOKEN, or pass --app-id');
  process.stdout.write(`${forge.url}\n`);
  const stop = async () => {
    await forge.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`scripted forge: ${err.message}\n`);
  process.exit(1);
});
