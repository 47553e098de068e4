// The Claude Code adapter: one `claude -p --output-format stream-json` process per agent execution
// (docs/harnesses.md). Hermetic (own CLAUDE_CONFIG_DIR, no setting sources but the runtime's --settings,
// no MCP servers), the policy as settings + --permission-mode, the outcome through --json-schema.
// Claude never prompts headless: denied tool calls still end in "success", so denials are collected here
// (claude-denials.ts).

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { envValue } from '../config/env';
import { compilePolicy } from '../policies/compile';
import { claudeToolConfig, redactedGrants } from '../policies/tool-servers';
import { RateLimitError } from '../shapes/rate-limit';
import { type ClaudeAsk, prepareClaudeAsk } from './approval/claude-ask';
import { resolveHarnessBinary } from './binaries';
import { ClaudeDenialParser } from './claude-denials';
import {
  correctionPrompt,
  defaultRateLimitWaitMs,
  harnessEnv,
  isolatedHome,
  outcomeSchemaErrors,
  type ProviderConnection,
  parseOutcome,
  redactArgs,
  runHarnessProcess,
  StreamCollector,
} from './common';
import { ClaudeLiveParser } from './live-events';
import { type AgentExecution, type AgentRunner, type AgentRunResult, HarnessFatalError } from './runner';
import { type SecretLaunch, withSecrets } from './secret-grants';
import { findFile, usageSince } from './sessions';
import { installSkills, skillsRecord } from './skills';
import { stateDir } from './state-dir';

export const DEFAULT_CLAUDE_MODEL = 'claude-sonnet-5';

/** The parts of Claude's settings JSON the adapter adds to after the policy emitter wrote them. */
interface ClaudeSettings {
  apiKeyHelper?: string;
  permissions?: { allow?: string[]; deny?: string[] };
  sandbox?: { enabled?: boolean; filesystem?: { denyRead?: string[] } };
  [key: string]: unknown;
}

interface ClaudeResult {
  subtype?: string;
  is_error?: boolean;
  result?: string;
  structured_output?: unknown;
  total_cost_usd?: number;
  api_error_status?: number | null;
  terminal_reason?: string;
  errors?: string[];
  startup_failure_reason?: string;
  modelUsage?: Record<
    string,
    {
      inputTokens?: number;
      outputTokens?: number;
      cacheReadInputTokens?: number;
      cacheCreationInputTokens?: number;
    }
  >;
}

interface TurnResult {
  sessionId?: string;
  result?: ClaudeResult;
}

export class ClaudeRunner implements AgentRunner {
  constructor(private readonly connection: ProviderConnection = {}) {}

  async run(execution: AgentExecution): Promise<AgentRunResult> {
    return withSecrets(execution, stateDir(), (secrets) => this.launch(execution, secrets));
  }

  private async launch(execution: AgentExecution, secrets: SecretLaunch): Promise<AgentRunResult> {
    const binary = resolveHarnessBinary('claude');
    const grants = execution.spec.tools ?? [];
    const compiled = compilePolicy(execution.spec.policy, 'claude', {
      workspace: execution.workspace,
      tools: grants,
      ...(secrets.dir ? { hidden: [secrets.dir] } : {}),
      skills: (execution.spec.skills?.length ?? 0) > 0,
    });
    // servers with secrets start through the secret launcher: mcp.json holds only the references' names
    const tools = claudeToolConfig(secrets.grants);
    // a session slot keeps its CLAUDE_CONFIG_DIR (projects/<cwd>/<session>.jsonl) between executions
    const session = execution.session;
    const configDir = session
      ? path.join(session.home, 'claude-config')
      : fs.mkdtempSync(path.join(stateDir(), 'claude-config-'));
    if (session) fs.mkdirSync(configDir, { recursive: true });
    const skills = execution.spec.skills ?? [];
    installSkills(path.join(configDir, 'skills'), skills);
    const removeConfig = () => {
      if (session) {
        fs.rmSync(path.join(configDir, 'api-key'), { force: true });
        fs.rmSync(path.join(configDir, 'mcp.json'), { force: true });
      } else fs.rmSync(configDir, { recursive: true, force: true });
    };
    const home = isolatedHome(stateDir());
    const settingsFile = path.join(execution.executionDir, 'claude-settings.json');
    const model = execution.spec.model ?? this.connection.model ?? DEFAULT_CLAUDE_MODEL;
    const keyVar = this.connection.apiKeyEnv ?? 'ANTHROPIC_API_KEY';
    const env = harnessEnv(
      {
        CLAUDE_CONFIG_DIR: configDir,
        HOME: home,
        // a wrong key must fail in seconds, not after minutes of silent retries (docs/harnesses.md)
        CLAUDE_CODE_MAX_RETRIES: envValue('SOP_CLAUDE_MAX_RETRIES') ?? '2',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        ...tools.env,
        ...(this.connection.baseUrl ? { ANTHROPIC_BASE_URL: this.connection.baseUrl } : {}),
      },
      keyVar,
      this.connection,
    );
    // The key reaches Claude through an apiKeyHelper reading a file outside the workspace, never through
    // the environment: Claude passes its environment to the agent's commands, so `printenv` would show it.
    // The file is unreadable to the agent (sandbox denyRead + a Read deny rule) and deleted after the run.
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
    fs.writeFileSync(settingsFile, `${JSON.stringify(settings, null, 2)}\n`);
    let ask: ClaudeAsk | undefined;
    try {
      ask = await prepareClaudeAsk(execution, compiled.effective, stateDir(), new Set(tools.allow));
    } catch (err) {
      removeConfig();
      fs.rmSync(home, { recursive: true, force: true });
      throw err;
    }
    Object.assign(env, ask?.env);
    // one --mcp-config for the step's servers and the approval server, in the private config folder (it
    // holds the servers' env and headers): with --strict-mcp-config nothing else is loaded
    const mcpServers = { ...tools.mcpServers, ...ask?.mcpServers };
    const mcpArgs: string[] = [];
    if (Object.keys(mcpServers).length > 0) {
      const mcpFile = path.join(configDir, 'mcp.json');
      fs.writeFileSync(mcpFile, `${JSON.stringify({ mcpServers }, null, 2)}\n`, { mode: 0o600 });
      mcpArgs.push('--mcp-config', mcpFile);
    }
    const common = [
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      // the user source is the launch's own config folder (nothing but the skills installed above): Claude
      // Code loads skills from it only with that source on
      '--setting-sources',
      skills.length > 0 ? 'user' : '',
      '--settings',
      settingsFile,
      '--strict-mcp-config',
      ...mcpArgs,
      '--model',
      model,
      ...compiled.args,
      ...(ask?.args ?? []),
      '--json-schema',
      JSON.stringify(execution.outcomeSchema),
    ];
    if (execution.spec.effort) common.push('--effort', execution.spec.effort);
    const collector = new StreamCollector(execution);
    const denials = new ClaudeDenialParser({ workspace: execution.workspace, policy: execution.spec.policy });
    const live =
      execution.live && new ClaudeLiveParser(execution.live, execution.workspace, () => denials.list());
    try {
      const first = await this.turn(
        session?.resumeId
          ? [...common, '--resume', session.resumeId]
          : [...common, '--session-id', randomUUID()],
        execution.prompt,
        {
          binary: binary.path,
          env,
          execution,
          ask,
          live,
        },
        collector,
        denials,
      );
      let turn = first;
      let parsed = this.outcomeOf(first, execution);
      let corrected: string | undefined;
      if (
        parsed.outcomeError &&
        first.sessionId &&
        !execution.signal.aborted &&
        ['success', 'error_max_structured_output_retries'].includes(first.result?.subtype ?? '')
      ) {
        corrected = parsed.outcomeError;
        turn = await this.turn(
          [...common, '--resume', first.sessionId],
          correctionPrompt(parsed.outcomeError),
          {
            binary: binary.path,
            env,
            execution,
            ask,
            live,
          },
          collector,
          denials,
        );
        parsed = this.outcomeOf(turn, execution);
      }
      collector.close();
      // cost and modelUsage are cumulative over the session on --resume (docs/harnesses.md): the last is the total
      const result = turn.result ?? first.result ?? {};
      const running = {
        inputTokens: 0,
        cachedInputTokens: 0,
        outputTokens: 0,
        costUsd: result.total_cost_usd ?? 0,
      };
      for (const u of Object.values(result.modelUsage ?? {})) {
        running.inputTokens +=
          (u.inputTokens ?? 0) + (u.cacheReadInputTokens ?? 0) + (u.cacheCreationInputTokens ?? 0);
        running.cachedInputTokens += u.cacheReadInputTokens ?? 0;
        running.outputTokens += u.outputTokens ?? 0;
      }
      // a resumed session's totals include the executions before this one
      const before = session?.resumeId ? session.before : undefined;
      const own = usageSince(running, before);
      return {
        ...parsed,
        usage: { inputTokens: own.inputTokens, outputTokens: own.outputTokens, costUsd: own.costUsd },
        sessionId: first.sessionId,
        ...(session ? { sessionTotals: running } : {}),
        corrected,
        denials: denials.list(),
        ...(grants.length > 0 ? { mcpCalls: denials.mcpCalls() } : {}),
        ...(ask ? { approvals: ask.approvals } : {}),
        effectiveConfig: {
          harness: 'claude',
          version: binary.version,
          model,
          argv: redactArgs(
            common.map((a) => (a === JSON.stringify(execution.outcomeSchema) ? '<outcome schema>' : a)),
          ),
          settings,
          policy: compiled.effective,
          enforced: compiled.enforced,
          ...(grants.length > 0 ? { tools: redactedGrants(grants) } : {}),
          ...(secrets.names.length > 0 ? { secrets: secrets.names } : {}),
          ...(skills.length > 0 ? { skills: skillsRecord(skills) } : {}),
          ...(compiled.translations.length > 0 ? { translations: compiled.translations } : {}),
          warnings: compiled.warnings,
          rawUsage: {
            modelUsage: result.modelUsage ?? {},
            totalCostUsd: result.total_cost_usd ?? 0,
            cumulative: true,
            ...(before ? { beforeThisExecution: before } : {}),
          },
          cost: "Claude Code's own estimate (total_cost_usd)",
        },
      };
    } finally {
      collector.close();
      await ask?.channel.close();
      removeConfig();
      fs.rmSync(home, { recursive: true, force: true });
    }
  }

  hasSession(home: string, sessionId: string): boolean {
    const projects = path.join(home, 'claude-config', 'projects');
    return findFile(projects, (name) => name === `${sessionId}.jsonl`) !== undefined;
  }

  private outcomeOf(
    turn: TurnResult,
    execution: AgentExecution,
  ): Pick<AgentRunResult, 'outcome' | 'outcomeError'> {
    const result = turn.result;
    if (!result) return { outcomeError: 'claude ended without a result event' };
    if (result.subtype !== 'success' || result.is_error) {
      const why = result.errors?.join('; ') || result.terminal_reason || result.subtype;
      return { outcomeError: `claude stopped without an answer (${result.subtype}: ${why})` };
    }
    const answer = result.structured_output ?? result.result;
    const parsed = parseOutcome(
      answer,
      result.structured_output !== undefined ? 'the structured output' : 'the result text',
    );
    if (parsed.outcomeError) return parsed;
    const value = typeof answer === 'string' ? JSON.parse(answer) : answer;
    const problem = outcomeSchemaErrors(value, execution.outcomeSchema);
    return problem ? { outcomeError: `the outcome does not match its schema:\n${problem}` } : parsed;
  }

  private async turn(
    args: string[],
    input: string,
    ctx: {
      binary: string;
      env: Record<string, string>;
      execution: AgentExecution;
      ask?: ClaudeAsk;
      live?: ClaudeLiveParser;
    },
    collector: StreamCollector,
    denials: ClaudeDenialParser,
  ): Promise<TurnResult> {
    const { execution } = ctx;
    const turn: TurnResult = {};
    let fatal: Error | undefined;
    const exit = await runHarnessProcess(ctx.binary, args, {
      cwd: execution.workspace,
      env: ctx.env,
      // the hermetic home and the harness home are this launch's alone (a session slot's is held by one
      // execution at a time): whatever names them is ended with the launch
      ownDirs: [ctx.env.HOME, ctx.env.CLAUDE_CONFIG_DIR],
      input,
      signal: execution.signal,
      waitingForPerson: () => (ctx.ask?.channel.waiting() ?? 0) > 0,
      onLine: (line, stop) => {
        const event = collector.line(line);
        if (!event) return;
        denials.event(event, Date.now());
        if (event.type === 'system' && event.subtype === 'init') {
          turn.sessionId = String(event.session_id);
          // a step's server that cannot start fails the launch, instead of an agent without its tools
          const failed = (
            (event.mcp_servers as Array<{ name: string; status: string }> | undefined) ?? []
          ).filter((s) => s.status === 'failed' || s.status === 'needs-auth');
          if (failed.length > 0 && !fatal) {
            fatal = new Error(
              `a tool server of the step could not start (${failed.map((s) => `${s.name}: ${s.status}`).join(', ')}): check its entry under mcp_servers`,
            );
            stop();
          }
        }
        if (event.type === 'system' && event.subtype === 'api_retry' && !fatal) {
          // stop at the first retry of an error that retrying cannot fix or that names its own wait
          const status = Number(event.error_status);
          if (status === 401 || status === 403) {
            fatal = authError(status);
            stop();
          } else if (status === 429) {
            const wait = Number(event.retry_delay_ms) || defaultRateLimitWaitMs();
            fatal = new RateLimitError(
              `the model API is rate limiting (HTTP 429, ${event.error})`,
              Date.now() + wait,
            );
            stop();
          }
        }
        if (event.type === 'result') {
          turn.result = event as ClaudeResult;
          turn.sessionId ??= String(event.session_id);
        }
        ctx.live?.event(event);
        execution.live?.harness('claude', turn.sessionId, collector.events);
        execution.heartbeat({ harness: 'claude', sessionId: turn.sessionId, events: collector.events });
      },
    });
    if (fatal) throw fatal;
    if (exit.cancelled) throw new Error('the Claude Code run was cancelled');
    if (exit.idleKilledAfterMs !== undefined) {
      // infrastructure failure: Temporal retries the activity with backoff
      throw new Error(
        `claude printed nothing for ${Math.round(exit.idleKilledAfterMs / 1000)} s and was killed as hung (SOP_HARNESS_IDLE_MS)`,
      );
    }
    const result = turn.result;
    if (result?.startup_failure_reason) {
      throw new HarnessFatalError(
        `claude could not start (${result.startup_failure_reason}): ${(result.errors ?? []).join('; ')}` +
          (result.startup_failure_reason === 'sandbox_required_unavailable'
            ? ' (install bubblewrap and socat, e.g. apt-get install bubblewrap socat)'
            : ''),
      );
    }
    if (result?.is_error && result.api_error_status) {
      const status = result.api_error_status;
      if (status === 401 || status === 403) throw authError(status);
      if (status === 429)
        throw new RateLimitError(
          `the model API is rate limiting: ${result.result ?? ''}`,
          Date.now() + defaultRateLimitWaitMs(),
        );
      // 5xx and other API failures: Temporal retries the activity with backoff
      throw new Error(`claude: model API error ${status}: ${result.result ?? ''}`);
    }
    if (!result) {
      throw new Error(
        `claude exited ${exit.exitCode ?? exit.signal} without a result event${exit.stderrTail ? `:\n${exit.stderrTail}` : ''}`,
      );
    }
    return turn;
  }
}

function authError(status: number): HarnessFatalError {
  return new HarnessFatalError(
    `the model API refused the credentials (HTTP ${status}): check ANTHROPIC_API_KEY and SOP_CLAUDE_BASE_URL`,
  );
}
