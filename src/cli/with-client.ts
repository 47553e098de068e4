import {
  RestartRefusedError,
  RunExistsError,
  RunNotFoundError,
  RunRequestRefusedError,
  SopClient,
  SopInputError,
  UnpricedModelError,
} from '../client';
import { CliError, ExitCode } from './errors';

/**
 * Connects, runs `fn`, closes, and maps errors to exit codes. Only commands that start runs pass
 * `startServer` (the embedded dev server is then started when it is not running, and says so once); read
 * and steering commands never start it: a stopped server is a one-line error naming `sop temporal start`.
 */
export async function withSopClient<T>(
  fn: (client: SopClient) => Promise<T>,
  options: { startServer?: boolean } = {},
): Promise<T> {
  const client = await SopClient.connect({
    startDevServer: options.startServer === true,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  try {
    return await fn(client);
  } catch (err) {
    if (err instanceof RunNotFoundError) {
      throw new CliError(err.message, ExitCode.notFound, 'list runs with `sop runs list`');
    }
    if (err instanceof SopInputError || err instanceof RunRequestRefusedError)
      throw new CliError(err.message, ExitCode.usage);
    if (err instanceof UnpricedModelError) throw new CliError(err.message, ExitCode.usage, err.hint);
    if (err instanceof RunExistsError) throw new CliError(err.message, ExitCode.failure);
    if (err instanceof RestartRefusedError) throw new CliError(err.message, ExitCode.failure, err.hint);
    throw err;
  } finally {
    await client.close();
  }
}

/** `SOP TASK` arguments, or one `SOP/TASK` argument. */
export function runRef(sop: string, task: string | undefined): { sop: string; task: string } {
  if (task) return { sop, task };
  const slash = sop.indexOf('/');
  if (slash <= 0) throw new CliError(`expected SOP TASK (or SOP/TASK), got "${sop}"`, ExitCode.usage);
  return { sop: sop.slice(0, slash), task: sop.slice(slash + 1) };
}
