import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { execa } from 'execa';
import { resolveHarnessBinary } from '../../harnesses/binaries';
import { isLoopback } from '../../harnesses/common';
import { codexHomeProblem, stateDirPath } from '../../harnesses/state-dir';
import { loadHooks } from '../../serve/hooks';
import { Catalog } from '../../sop/catalog';
import { connectClient } from '../../temporal/connect';
import { temporalDir } from '../../temporal/package-paths';
import { resolveTemporalTarget } from '../../temporal/target';
import { triggerRows } from '../../triggers/status';
import { CliError, ExitCode } from '../errors';
import { printJson } from '../output';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** The harnesses the runtime launches and the environment their adapters read (src/harnesses/index.ts). */
const HARNESSES = [
  { name: 'codex' as const, key: 'OPENAI_API_KEY', baseUrl: 'SOP_CODEX_BASE_URL' },
  { name: 'claude' as const, key: 'ANTHROPIC_API_KEY', baseUrl: 'SOP_CLAUDE_BASE_URL' },
];

async function version(file: string): Promise<string | undefined> {
  const result = await execa(file, ['--version'], { reject: false, timeout: 15_000, stdin: 'ignore' });
  return result.exitCode === 0 ? String(result.stdout).trim().split('\n')[0] : undefined;
}

export async function runChecks(projectDir = '.'): Promise<Check[]> {
  const checks: Check[] = [];
  const [major, minor] = process.versions.node.split('.').map(Number);
  checks.push({
    name: 'node',
    ok: major > 20 || (major === 20 && minor >= 19),
    detail: process.version,
    fix: 'install Node.js >= 20.19',
  });

  const target = resolveTemporalTarget();
  if (target.kind === 'embedded') {
    const bin = path.join(temporalDir, 'bin', 'temporal');
    const built = fs.existsSync(bin) ? await version(bin) : undefined;
    checks.push({
      name: 'temporal dev server',
      ok: Boolean(built),
      detail: built ?? 'not built',
      fix: 'run `bash temporal/build.sh` (needs Go >= 1.25), or set TEMPORAL_ADDRESS to use a cluster',
    });
  }
  try {
    const { client } = await connectClient({ target, startDevServer: false });
    const info = await client.workflowService.getSystemInfo({});
    checks.push({
      name: 'temporal reachable',
      ok: true,
      detail: `${target.address} (${target.kind}), server ${info.serverVersion}`,
    });
    const triggers = await triggerSyncCheck(client, projectDir, target.taskQueue).finally(() =>
      client.connection.close(),
    );
    if (triggers) checks.push(triggers);
  } catch (err) {
    checks.push({
      name: 'temporal reachable',
      ok: false,
      detail: (err as Error).message,
      fix: target.kind === 'embedded' ? 'run `sop server start`' : 'check TEMPORAL_ADDRESS and the cluster',
    });
  }

  for (const harness of HARNESSES) {
    let binary: { path: string; version: string } | undefined;
    let problem = '';
    try {
      binary = resolveHarnessBinary(harness.name);
    } catch (err) {
      problem = (err as Error).message;
    }
    const reported = binary ? await version(binary.path) : undefined;
    checks.push({
      name: `${harness.name} harness`,
      ok: Boolean(reported),
      detail: binary
        ? reported
          ? `${reported} (package ${binary.version}, ${binary.path})`
          : `${binary.path} does not run (\`--version\` failed)`
        : problem,
      fix: 'run `npm ci` in the runtime package (the harness is a pinned dependency)',
    });
    const baseUrl = process.env[harness.baseUrl];
    const key = process.env[harness.key];
    const offline = isLoopback(baseUrl);
    checks.push({
      name: `${harness.name} model API`,
      ok: Boolean(key) || offline,
      // names only: a key's value never goes to the terminal
      detail: [
        baseUrl ? `${harness.baseUrl}=${baseUrl}` : 'the provider default URL',
        key ? `${harness.key} is set` : offline ? 'loopback: no key needed' : `${harness.key} is not set`,
      ].join(', '),
      fix: `export ${harness.key}=... (or point ${harness.baseUrl} at the scripted model server, as \`npm run demo\` does)`,
    });
  }
  checks.push(stateFolderCheck());
  checks.push(...webhookChecks(projectDir));
  for (const tool of ['git', 'bwrap', 'socat']) {
    const found = await execa('sh', ['-c', `command -v ${tool}`], { reject: false, stdin: 'ignore' });
    checks.push({
      name: tool,
      ok: found.exitCode === 0,
      detail: found.exitCode === 0 ? String(found.stdout).trim() : 'not found',
      fix:
        tool === 'git'
          ? 'install git'
          : `apt-get install bubblewrap socat (Claude Code's sandbox needs both; steps with a sandbox refuse to start without them)`,
    });
  }
  return checks;
}

/** Every webhook the project's catalog declares: its secret variable must be set where `sop serve` runs. */
function webhookChecks(projectDir: string): Check[] {
  const { hooks, problems } = loadHooks({ projectDir });
  const checks: Check[] = [...hooks.values()].map((hook) => {
    const set = Boolean(process.env[hook.spec.secretEnv]);
    return {
      name: `webhook ${hook.name}`,
      ok: set,
      // the variable's name only: its value never goes to the terminal
      detail: `${hook.sop}: POST /hooks/${hook.name}, secret in ${hook.spec.secretEnv}${set ? '' : ', which is not set: sop serve refuses its deliveries'}`,
      fix: `export ${hook.spec.secretEnv}=<the secret the sender signs with> where sop serve runs`,
    };
  });
  for (const problem of problems) checks.push({ name: 'webhooks', ok: false, detail: problem });
  return checks;
}

/** Schedules and sensors on the server that differ from what the catalog declares (none declared: no check). */
async function triggerSyncCheck(
  client: Client,
  projectDir: string,
  taskQueue: string,
): Promise<Check | undefined> {
  const rows = (await triggerRows(client, new Catalog({ projectDir }), taskQueue, { live: false })).filter(
    (r) => r.kind === 'schedule' || r.kind === 'poll',
  );
  if (rows.length === 0) return undefined;
  const off = rows.filter((r) => !r.inSync);
  return {
    name: 'triggers in sync',
    ok: off.length === 0,
    detail:
      off.length === 0
        ? `${rows.length} schedule(s)/sensor(s) match the catalog`
        : off.map((r) => `${r.trigger} ${r.kind}: ${r.errors[0] ?? r.state}`).join('; '),
    fix: 'run `sop triggers sync` (it creates, updates and deletes them to match the catalog)',
  };
}

/** The folder harness homes go in (SOP_STATE_DIR): writable, and not where Codex refuses to work. */
function stateFolderCheck(): Check {
  const dir = stateDirPath();
  const fix = 'set SOP_STATE_DIR to a writable folder outside /tmp, e.g. ~/.local/state/sop-runtime';
  const problem = codexHomeProblem(dir);
  if (problem) return { name: 'state folder', ok: false, detail: problem, fix };
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    return { name: 'state folder', ok: false, detail: `${dir}: ${(err as Error).message}`, fix };
  }
  return { name: 'state folder', ok: true, detail: dir };
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('what is installed, what is configured, and what still blocks a real run')
    .option('-C, --project <dir>', 'project root whose triggers are compared with the server', '.')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean; project: string }) => {
      const checks = await runChecks(opts.project);
      if (opts.json) printJson(checks);
      else {
        for (const c of checks) {
          process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(20)} ${c.detail}\n`);
          if (!c.ok && c.fix) process.stdout.write(`      ${''.padEnd(20)} → ${c.fix}\n`);
        }
      }
      const blocking = checks.filter((c) => !c.ok);
      if (blocking.length) {
        throw new CliError(
          `${blocking.length} check(s) failed: ${blocking.map((c) => c.name).join(', ')}`,
          ExitCode.failure,
        );
      }
    });
}
