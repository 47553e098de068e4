import * as os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { envValue } from '../config/env';
import { ensureDevServer } from './dev-server';
import { resolveTemporalTarget, type TemporalTarget } from './target';

/** Temporal could not be reached: the message names the address, where it came from and what to do. */
export class TemporalUnavailableError extends Error {
  constructor(target: TemporalTarget, cause: unknown) {
    const reason = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
    const hint =
      target.kind === 'external'
        ? `check that the cluster is up, or unset ${target.source.split('=')[0]} to use the embedded dev server`
        : 'start it with `sop temporal start` (or `bash temporal/start.sh`)';
    super(`cannot reach Temporal at ${target.address} (from ${target.source}): ${reason}; ${hint}`);
    this.name = 'TemporalUnavailableError';
  }
}

export interface ConnectOptions {
  target?: TemporalTarget;
  /** Start the embedded dev server when it is not running (default true). */
  startDevServer?: boolean;
  log?: (line: string) => void;
  /** who this client is in history (answers, signals, cancellations); default: user@host */
  identity?: string;
}

/** `SOP_IDENTITY`, or the OS user and host (e.g. alice@laptop): what history shows as the sender. */
function clientIdentity(env: NodeJS.ProcessEnv = process.env): string {
  const identity = envValue('SOP_IDENTITY', env);
  if (identity) return identity;
  let user = env.USER ?? 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (some containers): keep $USER
  }
  return `${user}@${os.hostname()}`;
}

const CONNECT_TIMEOUT = '3s';

export async function connectClient(
  options: ConnectOptions = {},
): Promise<{ client: Client; target: TemporalTarget }> {
  const target = options.target ?? resolveTemporalTarget();
  if (options.startDevServer !== false) await ensureDevServer(target, options.log);
  const { address, tls, apiKey, metadata } = target.connectionOptions;
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address,
      tls,
      apiKey,
      metadata,
      connectTimeout: CONNECT_TIMEOUT,
    });
  } catch (err) {
    throw new TemporalUnavailableError(target, err);
  }
  return clientOn(connection, target, options);
}

function clientOn(connection: Connection, target: TemporalTarget, options: ConnectOptions) {
  return {
    client: new Client({
      connection,
      namespace: target.namespace,
      identity: options.identity ?? clientIdentity(),
    }),
    target,
  };
}

/**
 * A client whose connection is made on first use and re-made after an outage: for a server that must
 * start (and answer 503) while Temporal is down, such as `sop serve`.
 */
export function lazyClient(options: ConnectOptions = {}): { client: Client; target: TemporalTarget } {
  const target = options.target ?? resolveTemporalTarget();
  const { address, tls, apiKey, metadata } = target.connectionOptions;
  const connection = Connection.lazy({ address, tls, apiKey, metadata, connectTimeout: CONNECT_TIMEOUT });
  return clientOn(connection, target, options);
}

export async function connectWorkerConnection(
  options: ConnectOptions = {},
): Promise<{ connection: NativeConnection; target: TemporalTarget }> {
  const target = options.target ?? resolveTemporalTarget();
  if (options.startDevServer !== false) await ensureDevServer(target, options.log);
  try {
    return { connection: await NativeConnection.connect(target.connectionOptions), target };
  } catch (err) {
    throw new TemporalUnavailableError(target, err);
  }
}
