import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { execa } from 'execa';
import { connectClient } from '../../temporal/connect';
import { packageRoot, temporalDir } from '../../temporal/package-paths';
import { resolveTemporalTarget } from '../../temporal/target';
import { CliError, ExitCode } from '../errors';
import { printJson } from '../output';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** The harness binaries the runtime launches, from the npm packages it pins. */
const HARNESSES = [
  { name: 'codex', bin: 'codex', keys: ['CODEX_API_KEY', 'OPENAI_API_KEY'], baseUrl: 'OPENAI_BASE_URL' },
  {
    name: 'claude',
    bin: 'claude',
    keys: ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN'],
    baseUrl: 'ANTHROPIC_BASE_URL',
  },
];

async function version(file: string): Promise<string | undefined> {
  const result = await execa(file, ['--version'], { reject: false, timeout: 15_000, stdin: 'ignore' });
  return result.exitCode === 0 ? String(result.stdout).trim().split('\n')[0] : undefined;
}

export async function runChecks(): Promise<Check[]> {
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
    await client.connection.close();
    checks.push({
      name: 'temporal reachable',
      ok: true,
      detail: `${target.address} (${target.kind}), server ${info.serverVersion}`,
    });
  } catch (err) {
    checks.push({
      name: 'temporal reachable',
      ok: false,
      detail: (err as Error).message,
      fix: target.kind === 'embedded' ? 'run `sop server start`' : 'check TEMPORAL_ADDRESS and the cluster',
    });
  }

  for (const harness of HARNESSES) {
    const bin = path.join(packageRoot, 'node_modules', '.bin', harness.bin);
    const installed = fs.existsSync(bin) ? await version(bin) : undefined;
    checks.push({
      name: `${harness.name} harness`,
      ok: Boolean(installed),
      detail: installed ?? 'not installed',
      fix: 'run `npm ci` in the runtime package (the harness is a pinned dependency)',
    });
    const key = harness.keys.find((k) => process.env[k]);
    const baseUrl = process.env[harness.baseUrl];
    checks.push({
      name: `${harness.name} credentials`,
      ok: Boolean(key),
      // names only: a key's value never goes to the terminal
      detail: key
        ? `${key} is set${baseUrl ? `, ${harness.baseUrl}=${baseUrl}` : ''}`
        : `none of ${harness.keys.join(', ')} is set`,
      fix: `export ${harness.keys[0]}=... (or run offline against the scripted model server)`,
    });
  }
  for (const tool of ['git', 'bwrap']) {
    const found = await execa('sh', ['-c', `command -v ${tool}`], { reject: false, stdin: 'ignore' });
    checks.push({
      name: tool,
      ok: found.exitCode === 0,
      detail: found.exitCode === 0 ? String(found.stdout).trim() : 'not found',
      fix: tool === 'bwrap' ? 'apt-get install bubblewrap (sandboxing for the harnesses)' : `install ${tool}`,
    });
  }
  return checks;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('what is installed, what is configured, and what still blocks a real run')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const checks = await runChecks();
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
