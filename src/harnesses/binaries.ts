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

export class HarnessNotInstalledError extends Error {
  constructor(harness: HarnessName) {
    super(
      `the ${harness} harness is not installed: run \`npm ci\` (it installs ${PACKAGES[harness].pkg} at the pinned version)`,
    );
    this.name = 'HarnessNotInstalledError';
  }
}

/** SOP_CODEX_BIN / SOP_CLAUDE_BIN override the packaged binaries (e.g. a stand-in in unit tests). */
export function resolveHarnessBinary(harness: HarnessName): HarnessBinary {
  const override = envValue(harness === 'codex' ? 'SOP_CODEX_BIN' : 'SOP_CLAUDE_BIN');
  let version = 'unknown';
  let pkgDir: string | undefined;
  try {
    const pkgJson = require.resolve(`${PACKAGES[harness].pkg}/package.json`);
    pkgDir = path.dirname(pkgJson);
    version = (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  } catch {
    if (!override) throw new HarnessNotInstalledError(harness);
  }
  if (override) return { path: override, version: `override (${version})` };
  const nodeModules = path.resolve(pkgDir!, '..', '..');
  for (const candidate of PACKAGES[harness].native(process.arch)) {
    const file = path.join(nodeModules, candidate);
    if (fs.existsSync(file)) return { path: file, version };
  }
  throw new HarnessNotInstalledError(harness);
}
