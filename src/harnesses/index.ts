import { envValue } from '../config/env';
import { ClaudeRunner } from './claude';
import { CodexRunner } from './codex';
import type { AgentRunners } from './runner';

/**
 * The production runners, configured from the environment:
 * - codex: SOP_CODEX_BASE_URL (a Responses API, e.g. a gateway or the scripted model server), the key in
 *   OPENAI_API_KEY, SOP_CODEX_MODEL for the default model;
 * - claude: SOP_CLAUDE_BASE_URL (a Messages API; passed as ANTHROPIC_BASE_URL), the key in
 *   ANTHROPIC_API_KEY, SOP_CLAUDE_MODEL for the default model.
 */
export function createHarnessRunners(env: NodeJS.ProcessEnv = process.env): AgentRunners {
  return {
    codex: new CodexRunner({
      baseUrl: envValue('SOP_CODEX_BASE_URL', env),
      apiKeyEnv: 'OPENAI_API_KEY',
      model: envValue('SOP_CODEX_MODEL', env),
    }),
    claude: new ClaudeRunner({
      baseUrl: envValue('SOP_CLAUDE_BASE_URL', env),
      apiKeyEnv: 'ANTHROPIC_API_KEY',
      model: envValue('SOP_CLAUDE_MODEL', env),
    }),
  };
}

export { ClaudeRunner } from './claude';
export { CodexRunner } from './codex';
