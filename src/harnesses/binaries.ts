// Where the pinned harness binaries are: the native executables inside the npm packages (no postinstall
// needed; the platform packages carry them).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { envValue } from '../config/env';

export type HarnessName = 'codex' | 'claude';

const PACKAGES: Record<HarnessName, { pkg: string; native: (arch: string) => string[] }> = {
  codex: {
    pkg: '@openai/codex',
    // the package's launcher finds the native binary and puts its helpers (rg, bwrap) on PATH
    native: () => ['@openai/codex/bin/codex.js'],
  },
  claude: {
    pkg: '@anthropic-ai/claude-code',
    native: (arch) => [
      `@anthropic-ai/claude-code-linux-${arch}/claude`,
      '@anthropic-ai/claude-code/bin/claude.exe',
    ],
  },
};

export interface HarnessBinary {
  path: string;
  version: string;
}

class HarnessNotInstalledError extends Error {
  constructor(harness: HarnessName) {
    super(
      `the ${harness} harness is not installed: run \`npm ci\` (it installs ${PACKAGES[harness].pkg} at the pinned version)`,
    );
    this.name = 'HarnessNotInstalledError';
  }
}

/** The harness package's package.json: where it is installed, its version and the Node it declares. */
function harnessPackage(
  harness: HarnessName,
): { dir: string; version: string; engines?: string } | undefined {
  try {
    const pkgJson = require.resolve(`${PACKAGES[harness].pkg}/package.json`);
    const pkg = JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as {
      version: string;
      engines?: { node?: string };
    };
    return { dir: path.dirname(pkgJson), version: pkg.version, engines: pkg.engines?.node };
  } catch {
    return undefined;
  }
}

/** SOP_CODEX_BIN / SOP_CLAUDE_BIN override the packaged binaries (e.g. a stand-in in unit tests). */
export function resolveHarnessBinary(harness: HarnessName): HarnessBinary {
  const override = envValue(harness === 'codex' ? 'SOP_CODEX_BIN' : 'SOP_CLAUDE_BIN');
  const pkg = harnessPackage(harness);
  if (override) return { path: override, version: `override (${pkg?.version ?? 'unknown'})` };
  if (!pkg) throw new HarnessNotInstalledError(harness);
  const nodeModules = path.resolve(pkg.dir, '..', '..');
  for (const candidate of PACKAGES[harness].native(process.arch)) {
    const file = path.join(nodeModules, candidate);
    if (fs.existsSync(file)) return { path: file, version: pkg.version };
  }
  throw new HarnessNotInstalledError(harness);
}

/**
 * What a harness package declares about Node (`engines.node` in its package.json, which is what npm warns
 * about) and whether that matters here: only when the file the runtime launches is a Node script.
 */
export interface HarnessNodeRequirement {
  pkg: string;
  version: string;
  /** the package's `engines.node`; undefined when it declares none */
  engines?: string;
  /** the file the runtime launches */
  file: string;
  /** that file is a Node script (the `node` on PATH runs it), not a native executable */
  runsOnNode: boolean;
}

export function harnessNodeRequirement(harness: HarnessName): HarnessNodeRequirement {
  const binary = resolveHarnessBinary(harness);
  const pkg = harnessPackage(harness);
  return {
    pkg: PACKAGES[harness].pkg,
    version: pkg?.version ?? 'unknown',
    engines: pkg?.engines,
    file: binary.path,
    runsOnNode: isNodeScript(binary.path),
  };
}

/** A `.js` file, or one whose `#!` line names node; an ELF executable or anything else is not. */
function isNodeScript(file: string): boolean {
  if (/\.[cm]?js$/.test(file)) return true;
  const head = Buffer.alloc(256);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const first = head.subarray(0, n).toString('latin1').split('\n')[0];
    return first.startsWith('#!') && /\bnode\b/.test(first);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
