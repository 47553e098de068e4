import type { AgentRunners } from '../activities/agent-runner';
import { CodexRunner } from './codex';

/**
 * The production runners, configured from the environment:
 * - codex: SOP_CODEX_BASE_URL (a Responses API, e.g. a gateway or the scripted model server), the key in
 *   OPENAI_API_KEY, SOP_CODEX_MODEL for the default model.
 */
export function createHarnessRunners(env: NodeJS.ProcessEnv = process.env): AgentRunners {
  return {
    codex: new CodexRunner({
      baseUrl: env.SOP_CODEX_BASE_URL,
      apiKeyEnv: 'OPENAI_API_KEY',
      model: env.SOP_CODEX_MODEL,
    }),
  };
}

export { resolveHarnessBinary } from './binaries';
export { CodexRunner } from './codex';
