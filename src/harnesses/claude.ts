// The Claude Code adapter: one `claude -p --output-format stream-json` process per agent execution
// (docs/harnesses.md). Hermetic (own CLAUDE_CONFIG_DIR, no setting sources but the runtime's --settings,
// no MCP servers), the policy as settings + --permission-mode, the outcome through --json-schema.
// Claude never prompts headless: denied tool calls still end in "success", so denials are collected here
// (claude-denials.ts).

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compilePolicy } from '../policies/compile';
import { claudeToolConfig, redactedGrants } from '../policies/tool-servers';
import { RateLimitError } from '../shapes/rate-limit';
import { type ClaudeAsk, prepareClaudeAsk } from './approval/claude-ask';
import { resolveHarnessBinary } from './binaries';
import { ClaudeDenialParser } from './claude-denials';
import { claudeArgs, claudeEnv, claudeLaunchDirs, claudeSettings } from './claude-launch';
import {
  correctionPrompt,
  defaultRateLimitWaitMs,
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

const DEFAULT_CLAUDE_MODEL = 'claude-sonnet-5';

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

type Outcome = Pick<AgentRunResult, 'outcome' | 'outcomeError'>;

interface TurnContext {
  binary: string;
  env: Record<string, string>;
  execution: AgentExecution;
  ask?: ClaudeAsk;
  live?: ClaudeLiveParser;
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
    const skills = execution.spec.skills ?? [];
    const compiled = compilePolicy(execution.spec.policy, 'claude', {
      workspace: execution.workspace,
      tools: grants,
      ...(secrets.dir ? { hidden: [secrets.dir] } : {}),
      skills: skills.length > 0,
    });
    // servers with secrets start through the secret launcher: mcp.json holds only the references' names
    const tools = claudeToolConfig(secrets.grants);
    const dirs = claudeLaunchDirs(execution);
    installSkills(path.join(dirs.configDir, 'skills'), skills);
    const model = execution.spec.model ?? this.connection.model ?? DEFAULT_CLAUDE_MODEL;
    const { env, keyVar } = claudeEnv(this.connection, dirs, tools);
    const settings = claudeSettings(compiled, tools, env, keyVar, dirs.configDir);
    fs.writeFileSync(dirs.settingsFile, `${JSON.stringify(settings, null, 2)}\n`);
    let ask: ClaudeAsk | undefined;
    try {
      ask = await prepareClaudeAsk(execution, compiled.effective, stateDir(), new Set(tools.allow));
    } catch (err) {
      dirs.removeConfig();
      fs.rmSync(dirs.home, { recursive: true, force: true });
      throw err;
    }
    Object.assign(env, ask?.env);
    const common = claudeArgs({
      execution,
      dirs,
      mcpServers: { ...tools.mcpServers, ...ask?.mcpServers },
      model,
      policyArgs: compiled.args,
      askArgs: ask?.args ?? [],
    });
    const collector = new StreamCollector(execution);
    const denials = new ClaudeDenialParser({ workspace: execution.workspace, policy: execution.spec.policy });
    try {
      const live =
        execution.live && new ClaudeLiveParser(execution.live, execution.workspace, () => denials.list());
      const ctx = { binary: binary.path, env, execution, ask, live };
      const { first, turn, parsed, corrected } = await this.converse(common, ctx, collector, denials);
      collector.close();
      // cost and modelUsage are cumulative over the session on --resume (docs/harnesses.md): the last is the total
      const result = turn.result ?? first.result ?? {};
      const running = sessionTotals(result);
      // a resumed session's totals include the executions before this one
      const session = execution.session;
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
      dirs.removeConfig();
      fs.rmSync(dirs.home, { recursive: true, force: true });
    }
  }

  /**
   * The execution's turns: the prompt (resuming the session slot's session, or a new one), and one
   * correction turn in the same session when the outcome did not parse.
   */
  private async converse(
    common: string[],
    ctx: TurnContext,
    collector: StreamCollector,
    denials: ClaudeDenialParser,
  ): Promise<{ first: TurnResult; turn: TurnResult; parsed: Outcome; corrected?: string }> {
    const { execution } = ctx;
    const session = execution.session;
    const first = await this.turn(
      session?.resumeId
        ? [...common, '--resume', session.resumeId]
        : [...common, '--session-id', randomUUID()],
      execution.prompt,
      ctx,
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
        ctx,
        collector,
        denials,
      );
      parsed = this.outcomeOf(turn, execution);
    }
    return { first, turn, parsed, corrected };
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
    ctx: TurnContext,
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

/** The session's running totals after the last turn: modelUsage summed over models, with Claude's cost. */
function sessionTotals(result: ClaudeResult) {
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
  return running;
}

function authError(status: number): HarnessFatalError {
  return new HarnessFatalError(
    `the model API refused the credentials (HTTP ${status}): check ANTHROPIC_API_KEY and SOP_CLAUDE_BASE_URL`,
  );
}
