import * as path from 'node:path';
import { execa } from 'execa';
import { temporalDir } from './package-paths';
import type { TemporalTarget } from './target';

/** Environment for temporal/*.sh so they act on the same ports the target resolved. */
function scriptEnv(target: TemporalTarget): NodeJS.ProcessEnv {
  const port = target.address.split(':').pop();
  const uiPort = target.webUiUrl?.split(':').pop();
  return { ...process.env, SOP_TEMPORAL_PORT: port, SOP_TEMPORAL_UI_PORT: uiPort };
}

/** What start.sh / build.sh print when there was nothing to do: said only when asked (`sop temporal start`). */
const NOTHING_DONE = /is up to date|nothing to build|already running at/;

/**
 * Makes sure the embedded dev server answers: builds it from the pinned Go module when missing and starts
 * it in the background (a no-op when it already runs). Does nothing for an external cluster. `log` gets
 * what was done (built, started) once; with `verbose`, also that nothing needed doing.
 */
export async function ensureDevServer(
  target: TemporalTarget,
  log: (line: string) => void = () => {},
  options: { verbose?: boolean } = {},
): Promise<void> {
  if (target.kind !== 'embedded') return;
  const result = await execa('bash', [path.join(temporalDir, 'start.sh')], {
    env: scriptEnv(target),
    reject: false,
    stdin: 'ignore',
  });
  for (const line of `${result.stderr}\n${result.stdout}`.split('\n')) {
    if (line.trim() && (options.verbose || !NOTHING_DONE.test(line))) log(line);
  }
  if (result.exitCode !== 0) {
    const reason = result.stderr.split('\n').filter((l) => l.startsWith('error:') || l.startsWith('hint:'));
    throw new Error(
      `could not start the embedded Temporal dev server at ${target.address}: ${
        reason.join(' ') || result.stderr.trim() || `start.sh exited ${result.exitCode}`
      }`,
    );
  }
}

export async function stopDevServer(target: TemporalTarget): Promise<string> {
  const result = await execa('bash', [path.join(temporalDir, 'stop.sh')], {
    env: scriptEnv(target),
    stdin: 'ignore',
  });
  return result.stdout.trim();
}
