// Where the runtime keeps per-execution harness state (Codex's CODEX_HOME, Claude's config dir, the
// agents' linked homes), and whether Codex can work from there.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { envValue } from '../config/env';

/** The folder the harnesses' homes go in: SOP_STATE_DIR, default ~/.local/state/sop-runtime. */
export function stateDirPath(): string {
  return envValue('SOP_STATE_DIR') ?? path.join(os.homedir(), '.local', 'state', 'sop-runtime');
}

export function stateDir(): string {
  const dir = stateDirPath();
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The temporary directory the Codex process sees: the harness environment carries no TMPDIR, so it is
 * /tmp. Codex refuses to set up its sandbox helper under it ("Refusing to create helper binaries under
 * temporary dir"), after which every sandboxed command and patch fails (verified with codex 0.169).
 */
const CODEX_TEMP_DIR = '/tmp';

/** Why Codex cannot run with its home in `dir`, with the fix; undefined when it can. */
export function codexHomeProblem(dir: string): string | undefined {
  if (!isUnderTempDir(dir)) return undefined;
  return (
    `the state folder ${dir} (SOP_STATE_DIR) is under the temporary directory ${CODEX_TEMP_DIR}, where Codex ` +
    'refuses to set up its sandbox helper, so every command and file write of the agent would fail. ' +
    'Set SOP_STATE_DIR to a folder outside /tmp (the default is ~/.local/state/sop-runtime)'
  );
}

/** Whether `dir` is (really, links resolved) /tmp or inside it, where Codex refuses to work from. */
function isUnderTempDir(dir: string): boolean {
  const real = (p: string) => {
    // the nearest existing ancestor decides where a path really is (links included)
    let existing = path.resolve(p);
    while (!fs.existsSync(existing)) existing = path.dirname(existing);
    return path.join(fs.realpathSync(existing), path.relative(existing, path.resolve(p)));
  };
  const temp = real(CODEX_TEMP_DIR);
  const candidate = real(dir);
  return candidate === temp || candidate.startsWith(`${temp}${path.sep}`);
}

/** Where a worker provisions repo.url workspaces: SOP_WORK_ROOT, default <state folder>/work. */
export function workRootPath(): string {
  return envValue('SOP_WORK_ROOT') ?? path.join(stateDirPath(), 'work');
}

/** Why repo.url runs cannot be provisioned in `dir`, with the fix; undefined when they can. */
export function workRootProblem(dir: string): string | undefined {
  if (!path.isAbsolute(dir)) return `the work root ${dir} (SOP_WORK_ROOT) must be an absolute path`;
  if (!isUnderTempDir(dir)) return undefined;
  return (
    `the work root ${dir} (SOP_WORK_ROOT) is under the temporary directory ${CODEX_TEMP_DIR}, where Codex ` +
    'refuses to work (its sandbox helper), so agents could not work in the workspaces provisioned there. ' +
    'Set SOP_WORK_ROOT to a folder outside /tmp (the default is <SOP_STATE_DIR>/work)'
  );
}
