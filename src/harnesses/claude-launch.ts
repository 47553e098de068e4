// What one Claude Code launch is given: its private config folder and hermetic HOME, its environment, the
// settings file (the compiled policy, the step's MCP tools, and the API key behind an apiKeyHelper), and
// its command line. claude.ts runs it.

import * as fs from 'node:fs';
import * as path from 'node:path';

import { envValue } from '../config/env';
import type { CompiledPolicy } from '../policies/compile';
import type { claudeToolConfig } from '../policies/tool-servers';
import { harnessEnv, isolatedHome, type ProviderConnection } from './common';
import type { AgentExecution } from './runner';
import { stateDir } from './state-dir';

/** The parts of Claude's settings JSON the adapter adds to after the policy emitter wrote them. */
export interface ClaudeSettings {
  apiKeyHelper?: string;
  permissions?: { allow?: string[]; deny?: string[] };
  sandbox?: { enabled?: boolean; filesystem?: { denyRead?: string[] } };
  [key: string]: unknown;
}

type ToolConfig = ReturnType<typeof claudeToolConfig>;

/** A launch's own folders: the CLAUDE_CONFIG_DIR, the hermetic HOME, and where its settings are written. */
export interface ClaudeLaunchDirs {
  configDir: string;
  home: string;
  settingsFile: string;
  /** removes what the launch leaves: the key and MCP config of a session slot, or the whole config folder */
  removeConfig(): void;
}

export function claudeLaunchDirs(execution: AgentExecution): ClaudeLaunchDirs {
  // a session slot keeps its CLAUDE_CONFIG_DIR (projects/<cwd>/<session>.jsonl) between executions
  const session = execution.session;
  const configDir = session
    ? path.join(session.home, 'claude-config')
    : fs.mkdtempSync(path.join(stateDir(), 'claude-config-'));
  if (session) fs.mkdirSync(configDir, { recursive: true });
  const removeConfig = () => {
    if (session) {
      fs.rmSync(path.join(configDir, 'api-key'), { force: true });
      fs.rmSync(path.join(configDir, 'mcp.json'), { force: true });
    } else fs.rmSync(configDir, { recursive: true, force: true });
  };
  const home = isolatedHome(stateDir());
  const settingsFile = path.join(execution.executionDir, 'claude-settings.json');
  return { configDir, home, settingsFile, removeConfig };
}

/** The harness process's environment (with the API key in `keyVar`, until claudeSettings moves it out). */
export function claudeEnv(
  connection: ProviderConnection,
  dirs: ClaudeLaunchDirs,
  tools: ToolConfig,
): { env: Record<string, string>; keyVar: string } {
  const keyVar = connection.apiKeyEnv ?? 'ANTHROPIC_API_KEY';
  const env = harnessEnv(
    {
      CLAUDE_CONFIG_DIR: dirs.configDir,
      HOME: dirs.home,
      // a wrong key must fail in seconds, not after minutes of silent retries (docs/harnesses.md)
      CLAUDE_CODE_MAX_RETRIES: envValue('SOP_CLAUDE_MAX_RETRIES') ?? '2',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      ...tools.env,
      ...(connection.baseUrl ? { ANTHROPIC_BASE_URL: connection.baseUrl } : {}),
    },
    keyVar,
    connection,
  );
  return { env, keyVar };
}

/**
 * The settings the launch runs with: the compiled policy, the step's MCP tools allowed, and the API key.
 * The key reaches Claude through an apiKeyHelper reading a file outside the workspace, never through
 * the environment: Claude passes its environment to the agent's commands, so `printenv` would show it.
 * The file is unreadable to the agent (sandbox denyRead + a Read deny rule) and deleted after the run.
 * Removes the key from `env`.
 */
export function claudeSettings(
  compiled: CompiledPolicy,
  tools: ToolConfig,
  env: Record<string, string>,
  keyVar: string,
  configDir: string,
): ClaudeSettings {
  const settings = structuredClone(compiled.settings ?? {}) as ClaudeSettings;
  if (tools.allow.length > 0)
    settings.permissions = {
      ...settings.permissions,
      allow: [...(settings.permissions?.allow ?? []), ...tools.allow],
    };
  if (env[keyVar]) {
    const keyFile = path.join(configDir, 'api-key');
    fs.writeFileSync(keyFile, env[keyVar], { mode: 0o600 });
    delete env[keyVar];
    settings.apiKeyHelper = `cat '${keyFile}'`;
    settings.permissions = {
      ...settings.permissions,
      deny: [...(settings.permissions?.deny ?? []), `Read(/${configDir}/**)`],
    };
    if (settings.sandbox?.enabled) {
      const filesystem = settings.sandbox.filesystem;
      settings.sandbox.filesystem = {
        ...filesystem,
        denyRead: [...(filesystem?.denyRead ?? []), configDir],
      };
    }
  }
  return settings;
}

/**
 * The arguments every turn of the launch shares. One --mcp-config for the step's servers and the approval
 * server, in the private config folder (it holds the servers' env and headers): with --strict-mcp-config
 * nothing else is loaded.
 */
export function claudeArgs(options: {
  execution: AgentExecution;
  dirs: ClaudeLaunchDirs;
  mcpServers: Record<string, unknown>;
  model: string;
  policyArgs: string[];
  askArgs: string[];
}): string[] {
  const { execution, dirs, mcpServers } = options;
  const mcpArgs: string[] = [];
  if (Object.keys(mcpServers).length > 0) {
    const mcpFile = path.join(dirs.configDir, 'mcp.json');
    fs.writeFileSync(mcpFile, `${JSON.stringify({ mcpServers }, null, 2)}\n`, { mode: 0o600 });
    mcpArgs.push('--mcp-config', mcpFile);
  }
  const args = [
    '-p',
    '--output-format',
    'stream-json',
    '--verbose',
    // the user source is the launch's own config folder (nothing but the skills installed there): Claude
    // Code loads skills from it only with that source on
    '--setting-sources',
    (execution.spec.skills?.length ?? 0) > 0 ? 'user' : '',
    '--settings',
    dirs.settingsFile,
    '--strict-mcp-config',
    ...mcpArgs,
    '--model',
    options.model,
    ...options.policyArgs,
    ...options.askArgs,
    '--json-schema',
    JSON.stringify(execution.outcomeSchema),
  ];
  if (execution.spec.effort) args.push('--effort', execution.spec.effort);
  return args;
}
