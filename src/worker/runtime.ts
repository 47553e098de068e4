import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';
import { envValue } from '../config/env';

let installed = false;

/**
 * Installs the SDK runtime once per process with one-line log records on stderr, the native core's
 * included (by default core prints to stdout, which would corrupt `--json` output). Must run before the
 * first worker or native connection is created (Runtime.install throws after that).
 */
export function installRuntime(
  level: LogLevel = envValue('SOP_LOG_LEVEL') ?? 'WARN',
  /**
   * Forwarding keeps the event loop alive until the runtime shuts down (when its last worker or connection
   * closes): a process that may never open one (jest's, running CLI-only test files) passes false.
   */
  options: { forwardCoreLogs?: boolean } = {},
): void {
  if (installed) return;
  installed = true;
  if (runtimeAlreadyCreated()) return;
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: lvl, message, meta }) => {
      const context = meta?.taskQueue ? ` [${meta.taskQueue}]` : '';
      process.stderr.write(`${lvl.toLowerCase()}${context}: ${message}\n`);
    }),
    ...(options.forwardCoreLogs === false
      ? {}
      : { telemetryOptions: { logging: { filter: { core: level, other: 'ERROR' }, forward: {} } } }),
  });
}

/** Jest runs several test files in one process with fresh module registries but one native runtime. */
function runtimeAlreadyCreated(): boolean {
  return Runtime._instance !== undefined;
}
