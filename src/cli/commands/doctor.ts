import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { execa } from 'execa';
import * as semver from 'semver';
import { envValue } from '../../config/env';
import { lookUpSecrets } from '../../config/secrets';
import {
  type HarnessName,
  type HarnessNodeRequirement,
  harnessNodeRequirement,
  resolveHarnessBinary,
} from '../../harnesses/binaries';
import { isLoopback } from '../../harnesses/common';
import { codexHomeProblem, stateDirPath } from '../../harnesses/state-dir';
import { loadHooks } from '../../serve/hooks';
import { Catalog } from '../../sop/catalog';
import { connectClient } from '../../temporal/connect';
import { packageRoot, temporalDir } from '../../temporal/package-paths';
import { resolveTemporalTarget } from '../../temporal/target';
import { triggerRows } from '../../triggers/status';
import { CliError, ExitCode } from '../errors';
import { printJson } from '../output';

export interface Check {
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

async function runChecks(projectDir = '.'): Promise<Check[]> {
  const checks: Check[] = await nodeChecks();

  const target = resolveTemporalTarget();
  if (target.kind === 'embedded') {
    const chosen = envValue('SOP_TEMPORAL_BIN');
    const bin = chosen || path.join(temporalDir, 'bin', 'temporal');
    const built = fs.existsSync(bin) ? await version(bin) : undefined;
    checks.push({
      name: 'temporal dev server',
      ok: Boolean(built),
      detail: chosen
        ? `${built ?? 'does not run'} (SOP_TEMPORAL_BIN=${chosen})`
        : `${built ?? 'not built'} (${bin})`,
      fix: chosen
        ? 'point SOP_TEMPORAL_BIN at a temporal executable, or unset it to build temporal/bin/temporal'
        : 'run `sop temporal start` (it builds the dev server the first time; needs Go >= 1.25), set SOP_TEMPORAL_BIN to a Temporal CLI you have, or set TEMPORAL_ADDRESS to use a cluster',
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
      fix: target.kind === 'embedded' ? 'run `sop temporal start`' : 'check TEMPORAL_ADDRESS and the cluster',
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
  checks.push(...secretChecks(projectDir));
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

/** The Node the runtime runs on against its own `engines`, and against what each harness package declares. */
export async function nodeChecks(): Promise<Check[]> {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as {
    engines: { node: string };
  };
  const needed = pkg.engines.node;
  const checks: Check[] = [
    {
      name: 'node',
      ok: semver.satisfies(process.version, needed),
      detail: `${process.version} (the runtime needs ${needed})`,
      fix: `install Node.js ${needed}`,
    },
  ];
  for (const { name } of HARNESSES) {
    let requirement: HarnessNodeRequirement;
    try {
      requirement = harnessNodeRequirement(name);
    } catch {
      continue; // not installed: the harness check says so
    }
    // a Node launcher runs on the `node` first on PATH (its #! line), which the harness inherits
    const node = requirement.runsOnNode ? await version('node') : process.version;
    checks.push(harnessNodeCheck(name, requirement, node));
  }
  return checks;
}

/** One harness's declared Node (npm warns on it at install) against the Node that would run it, if any does. */
export function harnessNodeCheck(
  harness: HarnessName,
  requirement: HarnessNodeRequirement,
  node: string | undefined,
): Check {
  const { pkg, version: pkgVersion, engines, file } = requirement;
  const declared = engines
    ? `${pkg} ${pkgVersion} declares node ${engines}`
    : `${pkg} ${pkgVersion} declares no node`;
  const satisfied = !engines || (node !== undefined && semver.satisfies(node, engines));
  if (!requirement.runsOnNode) {
    return {
      name: `node for ${harness}`,
      ok: true,
      detail: `${declared}${satisfied ? '' : ` (npm warns on ${node})`}; not needed: the runtime launches its native binary ${file}, which Node does not run`,
    };
  }
  return {
    name: `node for ${harness}`,
    ok: satisfied,
    detail: `${declared}; its launcher ${file} runs on the node on PATH: ${node ?? 'none found'}${satisfied ? '' : ', which does not satisfy it'}`,
    fix: engines ? `put a Node.js ${engines} first on the worker's PATH` : "put node on the worker's PATH",
  };
}

/** Every webhook the project's catalog declares: its secret variable must be set where `sop serve` runs. */
function webhookChecks(projectDir: string): Check[] {
  const { hooks, problems } = loadHooks({ projectDir });
  // the shared hook with no trigger only carries review events: optional, so not checked
  const declared = [...hooks.values()].filter((hook) => hook.triggers.length > 0);
  const checks: Check[] = declared.map((hook) => {
    const set = Boolean(process.env[hook.spec.secretEnv]);
    const sops = [...new Set(hook.triggers.map((t) => t.sop))].join(', ');
    return {
      name: `webhook ${hook.name}`,
      ok: set,
      // the variable's name only: its value never goes to the terminal
      detail: `${sops}: POST /hooks/${hook.name}, secret in ${hook.spec.secretEnv}${set ? '' : ', which is not set: sop serve refuses its deliveries'}`,
      fix: `export ${hook.spec.secretEnv}=<the secret the sender signs with> where sop serve runs`,
    };
  });
  for (const problem of problems) checks.push({ name: 'webhooks', ok: false, detail: problem });
  return checks;
}

/**
 * Every secret the catalog's SOPs declare (`secrets:`): present on this machine (its environment or
 * SOP_SECRETS_FILE) or missing. Names and where from only: a value never goes to the terminal.
 */
export function secretChecks(projectDir: string, env: NodeJS.ProcessEnv = process.env): Check[] {
  const catalog = new Catalog({ projectDir });
  const users = new Map<string, string[]>();
  for (const entry of catalog.entries) {
    for (const name of catalog.compile(entry).bundle?.definition.secrets ?? [])
      users.set(name, [...(users.get(name) ?? []), entry.name]);
  }
  if (users.size === 0) return [];
  let lookup: ReturnType<typeof lookUpSecrets>;
  try {
    lookup = lookUpSecrets([...users.keys()], env);
  } catch (err) {
    return [{ name: 'secrets', ok: false, detail: (err as Error).message }];
  }
  return [...users.entries()].map(([name, sops]) => {
    const source = lookup.sources[name];
    return {
      name: `secret ${name}`,
      ok: source !== undefined,
      detail: `${source ? `present (${source === 'secrets file' ? `SOP_SECRETS_FILE ${envValue('SOP_SECRETS_FILE', env)}` : 'environment'})` : 'missing'}; needed by ${sops.join(', ')}`,
      fix: `export ${name}=... where the worker runs, or add ${name}=... to the worker's SOP_SECRETS_FILE (runs of ${sops.join(', ')} are refused without it)`,
    };
  });
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
