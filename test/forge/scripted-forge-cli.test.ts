// The scripted forge as a program (for offline use): it serves until SIGTERM, accepts the token from the
// environment, takes a push over smart HTTP and a pull request from the GitHub adapter.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { forgeFromEnv } from '../../src/forge/github';
import { gitAsync, REPO, RUN_BRANCH, workingRepo } from '../support/scripted-forge';

const repoRoot = path.resolve(__dirname, '../..');

test('serves the repositories named, with the token from SOP_GITHUB_TOKEN, until SIGTERM', async () => {
  const env = { SOP_GITHUB_TOKEN: 'ghp_offlineTOKEN000000000000000000000000' };
  const cli = execa('node', [path.join(repoRoot, 'dist/scripted-forge/cli.js'), '--repo', 'acme/widgets'], {
    env,
    reject: false,
  });
  const work = workingRepo();
  try {
    const url = await new Promise<string>((resolve, reject) => {
      cli.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
      cli.once('exit', () => reject(new Error('the scripted forge exited')));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const github = forgeFromEnv({ ...env, SOP_GITHUB_API_URL: url });
    await gitAsync(
      work.dir,
      ['push', '--quiet', github.remoteUrl(REPO), 'main', RUN_BRANCH],
      await github.gitAuthEnv(),
    );
    const spec = { key: 'offline/pr', head: RUN_BRANCH, base: 'main', title: 'Fix', body: 'b' };
    expect(await github.ensurePullRequest(REPO, spec)).toMatchObject({
      number: 1,
      action: 'created',
      headSha: work.branchSha,
    });
    expect(await github.ensurePullRequest(REPO, spec)).toMatchObject({ number: 1, action: 'unchanged' });
  } finally {
    cli.kill('SIGTERM');
    fs.rmSync(work.dir, { recursive: true, force: true });
  }
  expect((await cli).exitCode).toBe(0);
});

test('refuses to start without a credential to accept', async () => {
  const run = await execa(
    'node',
    [path.join(repoRoot, 'dist/scripted-forge/cli.js'), '--repo', 'acme/widgets'],
    {
      env: { SOP_GITHUB_TOKEN: '' },
      reject: false,
    },
  );
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toBe('scripted forge: no credential to accept: set SOP_GITHUB_TOKEN, or pass --app-id');
});
