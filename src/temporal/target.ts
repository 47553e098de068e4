import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { envValue } from '../config/env';

/**
 * Where Temporal is, decided in exactly one place:
 * - `TEMPORAL_ADDRESS` (or a `TEMPORAL_PROFILE` from the Temporal CLI's config file) means an existing
 *   cluster; nothing is started. Namespace, API key and TLS come from the same standard variables
 *   (TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, see @temporalio/envconfig).
 * - Otherwise the embedded dev server on 127.0.0.1:SOP_TEMPORAL_PORT (7233), started when needed.
 */
export interface TemporalTarget {
  kind: 'external' | 'embedded';
  address: string;
  namespace: string;
  taskQueue: string;
  connectionOptions: NativeConnectionOptions;
  /** Base URL of the Web UI, when known (embedded server, or SOP_TEMPORAL_UI_URL for a cluster). */
  webUiUrl?: string;
  /** Where the address came from, for error messages. */
  source: string;
}

export function resolveTemporalTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const taskQueue = envValue('SOP_TASK_QUEUE', env);
  if (env.TEMPORAL_ADDRESS || env.TEMPORAL_PROFILE) {
    const overrideEnvVars = Object.fromEntries(
      Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    const config = loadClientConnectConfig({ overrideEnvVars });
    const address = config.connectionOptions.address ?? env.TEMPORAL_ADDRESS ?? '';
    if (!address) {
      throw new Error(`TEMPORAL_PROFILE=${env.TEMPORAL_PROFILE} has no address; set TEMPORAL_ADDRESS`);
    }
    return {
      kind: 'external',
      address,
      namespace: config.namespace ?? 'default',
      taskQueue,
      connectionOptions: config.connectionOptions,
      webUiUrl: envValue('SOP_TEMPORAL_UI_URL', env),
      source: env.TEMPORAL_ADDRESS ? 'TEMPORAL_ADDRESS' : `TEMPORAL_PROFILE=${env.TEMPORAL_PROFILE}`,
    };
  }
  const port = envValue('SOP_TEMPORAL_PORT', env);
  const uiPort = envValue('SOP_TEMPORAL_UI_PORT', env);
  const address = `127.0.0.1:${port}`;
  return {
    kind: 'embedded',
    address,
    namespace: 'default',
    taskQueue,
    connectionOptions: { address },
    webUiUrl: `http://127.0.0.1:${uiPort}`,
    source: 'the embedded dev server',
  };
}

/** The Web UI page of one workflow execution, or undefined when the UI location is unknown. */
export function workflowUiLink(
  target: TemporalTarget,
  workflowId: string,
  runId?: string,
): string | undefined {
  if (!target.webUiUrl) return undefined;
  const base = `${target.webUiUrl}/namespaces/${encodeURIComponent(target.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
