import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa, type Options } from 'execa';
import { packageRoot } from '../../src/temporal/package-paths';
import { freePort } from '../support/free-port';
import { killAfterAll } from '../support/kill-after-all';

// The package a user installs, used as the README's "Use it in your own repository" says: `npm pack`, then
// `npm install -D` of the tarball in a fresh git repository, `npx sop init`, `npx sop validate`,
// `npx sop temporal start`, and one run of the scaffolded SOP with the real Codex binary of the installed
// package against the scripted model server of the installed package. Nothing comes from this checkout but
// the tarball and, through SOP_TEMPORAL_BIN (a documented setting), the Temporal CLI it already built.

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sop-installed-'));
const project = path.join(root, 'my-app');
let env: NodeJS.ProcessEnv;

/**
 * The environment of a user's shell: none of this test run's SOP_* or TEMPORAL_* settings, and none of what
 * `npm test` exports (npm_*), but for where npm's cache, configuration and registry certificates are.
 */
function userEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !/^(SOP_|TEMPORAL_)/.test(name) &&
        (!/^npm_/i.test(name) || /^npm_config_(cache|userconfig|globalconfig|registry|cafile)$/i.test(name)),
    ),
  );
  return { ...clean, ...extra };
}

const inProject = (file: string, args: string[], options: Options = {}) =>
  execa(file, args, { cwd: project, env, extendEnv: false, reject: false, stdin: 'ignore', ...options });

beforeAll(async () => {
  // the package as `npm test` built it (dist/ is fresh); `prepare` would only build it again
  const packed = await execa(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', root, '--loglevel', 'error'],
    { cwd: packageRoot },
  );
  const tarball = path.join(root, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0].filename);
  fs.mkdirSync(project);
  await execa('git', ['init', '-q'], { cwd: project });
  fs.writeFileSync(
    path.join(project, 'package.json'),
    '{ "name": "my-app", "version": "1.0.0", "private": true }\n',
  );
  fs.writeFileSync(path.join(project, '.gitignore'), 'node_modules/\n');
  const [port, uiPort] = [await freePort(), await freePort()];
  env = userEnv({
    SOP_TEMPORAL_PORT: String(port),
    SOP_TEMPORAL_UI_PORT: String(uiPort === port ? await freePort() : uiPort),
    SOP_TEMPORAL_STATE_DIR: path.join(root, 'temporal'),
    SOP_TEMPORAL_BIN: path.join(packageRoot, 'temporal', 'bin', 'temporal'),
  });
  // from the npm cache when it has every package (CI's `npm ci` fills it), else from the registry
  const installed = await inProject('npm', [
    'install',
    '-D',
    tarball,
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--loglevel',
    'error',
  ]);
  if (installed.exitCode !== 0) throw new Error(`npm install failed:\n${installed.stderr}`);
}, 600_000);

afterAll(async () => {
  await inProject('npx', ['sop', 'temporal', 'stop']);
  // node_modules holds both harnesses' native binaries: about 1 GB
  fs.rmSync(root, { recursive: true, force: true });
});

test('installed from its tarball into a fresh repository: init, validate, server start and a run complete', async () => {
  const sop = fs.realpathSync(path.join(project, 'node_modules', '.bin', 'sop'));
  expect(sop).toBe(path.join(project, 'node_modules', 'sop-runtime', 'bin', 'sop.js'));

  const init = await inProject('npx', ['sop', 'init']);
  expect(init.stderr).toBe('');
  expect(init.exitCode).toBe(0);
  await inProject('git', ['add', '-A']);
  await inProject('git', ['-c', 'user.name=me', '-c', 'user.email=me@example.com', 'commit', '-qm', 'init']);

  const validate = await inProject('npx', ['sop', 'validate']);
  expect(validate.exitCode).toBe(0);
  expect(validate.stdout).toMatch(/^ok +change /m);

  // the package's own temporal/start.sh, with every file it reads (search-attributes.txt was left out once)
  const server = await inProject('npx', ['sop', 'temporal', 'start']);
  expect(server.stderr).not.toMatch(/No such file|error/);
  expect(server.exitCode).toBe(0);
  expect(server.stderr).toContain(`Temporal dev server started at 127.0.0.1:${env.SOP_TEMPORAL_PORT}`);

  // the scripted model server the package ships, on a scenario for the scaffolded SOP
  const scenario = path.join(root, 'change.scenario.yaml');
  fs.writeFileSync(
    scenario,
    [
      'rules:',
      '  - match: "# Make the change"',
      '    runs:',
      '      - - write: { path: greeting.txt, content: "hello\\n" }',
      '        - final: { route: done, summary: "Added greeting.txt", details: "" }',
      '  - match: "# Review the change"',
      '    runs:',
      '      - - shell: "git status --short"',
      '        - write: { path: "{{ run.folder }}/review.md", content: "Verdict: accepted\\n" }',
      '        - final: { route: accepted, summary: "The greeting is there", details: "" }',
      '',
    ].join('\n'),
  );
  const model = killAfterAll(
    inProject(
      'node',
      ['node_modules/sop-runtime/dist/scripted-model/model-server-cli.js', '--scenario', scenario],
      {
        buffer: false,
      },
    ),
  );
  const url = await new Promise<string>((resolve, reject) => {
    model.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    void model.then((r) => reject(new Error(`the model server exited ${r.exitCode}`)));
  });
  try {
    const run = await inProject(
      'npx',
      ['sop', 'run', 'change', 'Add a greeting file', '--workspace', '.', '--task', 'first'],
      { env: { ...env, SOP_CODEX_BASE_URL: `${url}/v1` }, timeout: 240_000 },
    );
    expect(`${run.stdout}\n${run.stderr}`).toMatch(/^change\/first completed: 2 agent runs/m);
    expect(run.exitCode).toBe(0);
    expect(fs.readFileSync(path.join(project, 'greeting.txt'), 'utf8')).toBe('hello\n');
    const folder = path.join(project, '.sop', 'runs', 'change', 'first');
    expect(fs.readFileSync(path.join(folder, 'review.md'), 'utf8')).toBe('Verdict: accepted\n');
  } finally {
    model.kill('SIGTERM');
    await model;
  }
}, 300_000);
