// The Codex CLI adapter: one `codex exec --json` process per agent execution (docs/harnesses.md).
// Hermetic (own CODEX_HOME, user config and rules ignored, unknown config keys fatal), the policy as a
// permission profile, the outcome through --output-schema, events parsed line by line as they arrive.
// An unusable outcome gets one `codex exec resume` turn in the same session before the attempt fails.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { type CompiledPolicy, compilePolicy } from '../policies/compile';
import { codexToolArgs, redactedGrants } from '../policies/tool-servers';
import type { Usage } from '../shapes/contract';
import { DEFAULT_CODEX_MODEL, priceUsage } from '../shapes/pricing';
import { RateLimitError } from '../shapes/rate-limit';
import { loadPriceTable } from '../sop/prices';
import { resolveHarnessBinary } from './binaries';
import { codexToolRecords } from './codex-denials';
import {
  correctionPrompt,
  defaultRateLimitWaitMs,
  harnessEnv,
  isLoopback,
  isolatedHome,
  outcomeSchemaErrors,
  type ProviderConnection,
  parseOutcome,
  redactArgs,
  retryHintMs,
  runHarnessProcess,
  StreamCollector,
} from './common';
import { CodexLiveParser } from './live-events';
import { type AgentExecution, type AgentRunner, type AgentRunResult, HarnessFatalError } from './runner';
import { type SecretLaunch, withSecrets } from './secret-grants';
import { findFile, usageSince } from './sessions';
import { codexSkillArgs, installSkills, skillsRecord } from './skills';
import { codexHomeProblem, stateDir, stateDirPath } from './state-dir';

interface TurnResult {
  lastMessage?: string;
  sessionId?: string;
  /** cumulative over the thread (a resume reports running totals: docs/harnesses.md) */
  totals?: { input: number; cachedInput: number; output: number };
  changedFiles: string[];
}

export class CodexRunner implements AgentRunner {
  constructor(private readonly connection: ProviderConnection = {}) {}

  async run(execution: AgentExecution): Promise<AgentRunResult> {
    return withSecrets(execution, stateDir(), (secrets) => this.launch(execution, secrets));
  }

  private async launch(execution: AgentExecution, secrets: SecretLaunch): Promise<AgentRunResult> {
    const binary = resolveHarnessBinary('codex');
    const grants = execution.spec.tools ?? [];
    const compiled = compilePolicy(execution.spec.policy, 'codex', {
      workspace: execution.workspace,
      tools: grants,
      ...(secrets.dir ? { hidden: [secrets.dir] } : {}),
      skills: (execution.spec.skills?.length ?? 0) > 0,
    });
    const prices = { ...loadPriceTable(), ...execution.spec.prices };
    // CODEX_HOME must not live under /tmp (the sandbox helper refuses it, docs/harnesses.md): refuse to
    // launch rather than let every command of the agent fail unseen
    const homeProblem = codexHomeProblem(stateDirPath());
    if (homeProblem) throw new HarnessFatalError(`codex cannot run here: ${homeProblem}`);
    // a session slot keeps its CODEX_HOME (the rollout files Codex resumes from) between executions
    const session = execution.session;
    const home = session
      ? path.join(session.home, 'codex-home')
      : fs.mkdtempSync(path.join(stateDir(), 'codex-home-'));
    if (session) fs.mkdirSync(home, { recursive: true });
    installSkills(path.join(home, 'skills'), execution.spec.skills);
    const rolloutBefore = rolloutSizes(home);
    const schemaFile = path.join(execution.executionDir, 'outcome-schema.json');
    fs.writeFileSync(schemaFile, JSON.stringify(execution.outcomeSchema, null, 2));
    const model = execution.spec.model ?? this.connection.model ?? DEFAULT_CODEX_MODEL;
    const keyVar = this.connection.apiKeyEnv ?? 'OPENAI_API_KEY';
    // without a key Codex cannot authenticate anywhere but a loopback model server; it would retry (or
    // wait for a network) instead of saying so
    if (!process.env[keyVar] && !isLoopback(this.connection.baseUrl)) {
      throw new HarnessFatalError(
        `${keyVar} is not set, so Codex cannot authenticate to ${this.connection.baseUrl ?? 'the OpenAI API'}: export ${keyVar} on the worker, or point SOP_CODEX_BASE_URL at a model server on loopback`,
      );
    }
    const userHome = isolatedHome(stateDir());
    const env = harnessEnv({ CODEX_HOME: home, HOME: userHome }, keyVar, this.connection);
    const base = this.commonArgs(model, compiled, execution, keyVar);
    // the step's MCP servers (their env and headers are in argv: the evidence gets them redacted; secrets
    // are not: servers that have some start through the secret launcher)
    const common = [...base, ...codexToolArgs(secrets.grants)];
    const collector = new StreamCollector(execution);
    const before = session?.resumeId ? session.before : undefined;
    const live =
      execution.live &&
      new CodexLiveParser(
        execution.live,
        { workspace: execution.workspace, policy: execution.spec.policy },
        before,
      );

    try {
      // `exec resume` takes no -C: the process runs in the workspace (docs/harnesses.md)
      const first = await this.turn(
        session?.resumeId
          ? ['exec', 'resume', ...common, ...this.outputArgs(schemaFile, execution, 1), session.resumeId, '-']
          : ['exec', ...common, '-C', execution.workspace, ...this.outputArgs(schemaFile, execution, 1), '-'],
        execution.prompt,
        { binary: binary.path, env, execution, collector, keyVar, live },
      );
      first.sessionId ??= session?.resumeId;
      let turn = first;
      let parsed = this.outcomeOf(first, execution);
      let corrected: string | undefined;
      if (parsed.outcomeError && first.sessionId && !execution.signal.aborted) {
        corrected = parsed.outcomeError;
        turn = await this.turn(
          ['exec', 'resume', ...common, ...this.outputArgs(schemaFile, execution, 2), first.sessionId, '-'],
          correctionPrompt(parsed.outcomeError),
          { binary: binary.path, env, execution, collector, keyVar, live },
        );
        turn.changedFiles.unshift(...first.changedFiles);
        parsed = this.outcomeOf(turn, execution);
      }
      collector.close();
      const rollout = copyRollout(home, execution.executionDir, rolloutBefore);
      const records = codexToolRecords(
        { workspace: execution.workspace, policy: execution.spec.policy },
        { rollout, transcript: execution.transcriptPath },
      );

      // the thread's running totals (docs/harnesses.md); a resumed thread's include the executions before
      const reported = turn.totals ?? first.totals;
      const totals = reported ?? {
        input: before?.inputTokens ?? 0,
        cachedInput: before?.cachedInputTokens ?? 0,
        output: before?.outputTokens ?? 0,
      };
      const running = {
        inputTokens: totals.input,
        cachedInputTokens: totals.cachedInput,
        outputTokens: totals.output,
        costUsd: priceUsage(model, totals, prices) ?? 0,
      };
      const own = usageSince(running, before);
      const cost = priceUsage(
        model,
        { input: own.inputTokens, cachedInput: own.cachedInputTokens, output: own.outputTokens },
        prices,
      );
      const usage: Usage = {
        inputTokens: own.inputTokens,
        outputTokens: own.outputTokens,
        costUsd: cost ?? 0,
      };
      return {
        ...parsed,
        usage,
        sessionId: first.sessionId,
        ...(session ? { sessionTotals: running } : {}),
        corrected,
        denials: records.denials,
        ...(grants.length > 0 ? { mcpCalls: records.mcpCalls } : {}),
        effectiveConfig: {
          harness: 'codex',
          version: binary.version,
          model,
          argv: redactArgs([
            'exec',
            ...base,
            ...codexToolArgs(redactedGrants(grants)),
            '-C',
            execution.workspace,
          ]),
          policy: compiled.effective,
          enforced: compiled.enforced,
          ...(grants.length > 0 ? { tools: redactedGrants(grants) } : {}),
          ...(secrets.names.length > 0 ? { secrets: secrets.names } : {}),
          ...(execution.spec.skills?.length ? { skills: skillsRecord(execution.spec.skills) } : {}),
          warnings: compiled.warnings,
          rawUsage: {
            ...totals,
            cumulative: true,
            ...(before ? { beforeThisExecution: before } : {}),
          },
          cost:
            cost === undefined
              ? `no price for model ${model}: set providers.codex.prices in sop.config.yaml or SOP_PRICES to get a cost`
              : 'priced from the runtime price table (Codex reports no cost)',
          filesChanged: turn.changedFiles.map((f) => path.relative(execution.workspace, f)),
        },
      };
    } finally {
      collector.close();
      if (!session) fs.rmSync(home, { recursive: true, force: true });
      fs.rmSync(userHome, { recursive: true, force: true });
    }
  }

  hasSession(home: string, sessionId: string): boolean {
    return rolloutOf(path.join(home, 'codex-home'), sessionId) !== undefined;
  }

  private commonArgs(
    model: string,
    compiled: CompiledPolicy,
    execution: AgentExecution,
    keyVar: string,
  ): string[] {
    const args = [
      '--json',
      '--skip-git-repo-check',
      '--ignore-user-config',
      '--ignore-rules',
      '--strict-config',
    ];
    args.push('-m', model, ...compiled.args);
    // commands run in a plain `bash -c`, not a login shell: the worker user's ~/.profile and ~/.bashrc
    // (exports, PATH changes, secrets) must not reach a governed run
    args.push('-c', 'allow_login_shell=false');
    // the skills the step names are the only ones: no bundled ones, none the repository carries
    args.push(...codexSkillArgs(execution.workspace));
    // the agent's commands get a core environment without the API key or anything that looks secret
    args.push(
      '-c',
      'shell_environment_policy.inherit="core"',
      '-c',
      `shell_environment_policy.exclude=["*KEY*", "*TOKEN*", "*SECRET*", "*PASSWORD*", "${keyVar}"]`,
    );
    if (execution.spec.effort) args.push('-c', `model_reasoning_effort="${execution.spec.effort}"`);
    if (this.connection.baseUrl) {
      args.push(
        '-c',
        'model_provider="sop"',
        '-c',
        'model_providers.sop.name="sop"',
        '-c',
        `model_providers.sop.base_url="${this.connection.baseUrl}"`,
        '-c',
        'model_providers.sop.wire_api="responses"',
        '-c',
        `model_providers.sop.env_key="${keyVar}"`,
        // transient API errors are retried by Temporal (with backoff, visible in the history): one quick
        // retry inside Codex, not five on top of every activity attempt
        '-c',
        'model_providers.sop.request_max_retries=1',
        '-c',
        'model_providers.sop.stream_max_retries=1',
      );
    }
    return args;
  }

  private outputArgs(schemaFile: string, execution: AgentExecution, turn: number): string[] {
    return [
      '--output-schema',
      schemaFile,
      '-o',
      path.join(execution.executionDir, `last-message-${turn}.txt`),
    ];
  }

  private outcomeOf(turn: TurnResult, execution: AgentExecution) {
    const parsed = parseOutcome(turn.lastMessage, 'the last agent message');
    if (parsed.outcomeError) return parsed;
    const problem = outcomeSchemaErrors(JSON.parse(turn.lastMessage!), execution.outcomeSchema);
    return problem ? { outcomeError: `the outcome does not match its schema:\n${problem}` } : parsed;
  }

  private async turn(
    args: string[],
    input: string,
    ctx: {
      binary: string;
      env: Record<string, string>;
      execution: AgentExecution;
      collector: StreamCollector;
      keyVar: string;
      live?: CodexLiveParser;
    },
  ): Promise<TurnResult> {
    const { execution, collector } = ctx;
    const result: TurnResult = { changedFiles: [] };
    let failure: string | undefined;
    let fatal: Error | undefined;
    const exit = await runHarnessProcess(ctx.binary, args, {
      cwd: execution.workspace,
      env: ctx.env,
      // the hermetic home and the harness home are this launch's alone (a session slot's is held by one
      // execution at a time): whatever names them is ended with the launch
      ownDirs: [ctx.env.HOME, ctx.env.CODEX_HOME],
      input, // the prompt on stdin, closed after (never an open stdin, §2.1.1)
      signal: execution.signal,
      onLine: (line, stop) => {
        const event = collector.line(line);
        if (!event) return;
        switch (event.type) {
          case 'thread.started':
            result.sessionId = String(event.thread_id);
            break;
          case 'item.completed': {
            const item = event.item as Record<string, unknown>;
            if (item.type === 'agent_message') result.lastMessage = String(item.text ?? '');
            // a patch that could not be applied ends with status "failed": nothing was written
            if (item.type === 'file_change' && item.status !== 'failed') {
              for (const change of (item.changes as Array<{ path: string }>) ?? [])
                result.changedFiles.push(change.path);
            }
            break;
          }
          case 'turn.completed': {
            const u = event.usage as Record<string, number>;
            result.totals = {
              input: u.input_tokens ?? 0,
              cachedInput: u.cached_input_tokens ?? 0,
              output: u.output_tokens ?? 0,
            };
            break;
          }
          case 'error':
          case 'turn.failed': {
            const message = String(
              event.type === 'error' ? event.message : (event.error as { message?: string })?.message,
            );
            if (event.type === 'turn.failed') failure = message;
            // Codex retries these five times with backoff: stop at the first, they will not get better
            if (!fatal && /\b(401|403)\b/.test(message)) {
              fatal = new HarnessFatalError(
                `the model API refused the credentials (${message.replace(/^Reconnecting\.\.\. \S+ /, '')}): check ${ctx.keyVar} and SOP_CODEX_BASE_URL`,
              );
              stop();
            } else if (!fatal && UNREACHABLE.test(message)) {
              fatal = new HarnessFatalError(
                `the model API at ${this.connection.baseUrl ?? 'the OpenAI default URL'} cannot be reached (${message.replace(/^Reconnecting\.\.\. /, '')}): check SOP_CODEX_BASE_URL and the network`,
              );
              stop();
            } else if (!fatal && /\b429\b/.test(message)) {
              const wait = retryHintMs(message) ?? defaultRateLimitWaitMs();
              fatal = new RateLimitError(`the model API is rate limiting (${message})`, Date.now() + wait);
              stop();
            }
            break;
          }
        }
        ctx.live?.event(event);
        execution.live?.harness('codex', result.sessionId, collector.events);
        execution.heartbeat({ harness: 'codex', sessionId: result.sessionId, events: collector.events });
      },
    });
    if (fatal) throw fatal;
    if (exit.cancelled) throw new Error('the Codex run was cancelled');
    if (exit.idleKilledAfterMs !== undefined) {
      // infrastructure failure: Temporal retries the activity with backoff
      throw new Error(
        `codex printed nothing for ${Math.round(exit.idleKilledAfterMs / 1000)} s and was killed as hung (SOP_HARNESS_IDLE_MS)`,
      );
    }
    const serverFailed = /required MCP servers failed to initialize: ([^\n]*?)(?: \(code -?\d+\))?$/m.exec(
      exit.stderrTail,
    );
    if (exit.exitCode !== 0 && serverFailed) {
      // infrastructure failure (a server down may come back): Temporal retries the activity with backoff
      throw new Error(
        `a tool server of the step could not start (${serverFailed[1]}): check its entry under mcp_servers`,
      );
    }
    if (exit.exitCode !== 0 || failure) {
      // infrastructure failure: Temporal retries the activity with backoff
      throw new Error(
        `codex exited ${exit.exitCode ?? exit.signal}${failure ? `: ${failure}` : ''}${exit.stderrTail ? `\n${exit.stderrTail}` : ''}`,
      );
    }
    return result;
  }
}

/**
 * Codex's words for a model API it cannot reach or use as configured: it retries these, then waits for a
 * network forever ("Reconnecting... waiting for network"); they do not get better by waiting.
 */
const UNREACHABLE =
  /waiting for network|error sending request|failed to lookup address|Connection refused|Missing environment variable/i;

/** The rollout file of a thread in a CODEX_HOME (`sessions/YYYY/MM/DD/rollout-<ts>-<thread id>.jsonl`). */
function rolloutOf(home: string, threadId: string): string | undefined {
  return findFile(
    path.join(home, 'sessions'),
    (name) => name.startsWith('rollout-') && name.endsWith(`-${threadId}.jsonl`),
  );
}

/** Sizes of the rollout files in a CODEX_HOME, by path relative to its sessions folder. */
function rolloutSizes(home: string): Map<string, number> {
  const sessions = path.join(home, 'sessions');
  const sizes = new Map<string, number>();
  if (!fs.existsSync(sessions)) return sizes;
  for (const f of fs.readdirSync(sessions, { recursive: true }) as string[]) {
    if (f.endsWith('.jsonl')) sizes.set(f, fs.statSync(path.join(sessions, f)).size);
  }
  return sizes;
}

/**
 * Codex reports sandbox denials only in its rollout file (finding 3): keep what this execution added to it
 * with the evidence. A resumed session appends to its rollout; a slot's home keeps earlier executions'
 * lines, which are theirs, so only the bytes after `before` are copied.
 */
function copyRollout(home: string, executionDir: string, before: Map<string, number>): string | undefined {
  const sessions = path.join(home, 'sessions');
  const sizes = rolloutSizes(home);
  const files = [...sizes.keys()].filter((f) => sizes.get(f)! > (before.get(f) ?? 0)).sort();
  if (files.length === 0) return undefined;
  const target = path.join(executionDir, 'codex-rollout.jsonl');
  fs.writeFileSync(
    target,
    Buffer.concat(files.map((f) => fs.readFileSync(path.join(sessions, f)).subarray(before.get(f) ?? 0))),
  );
  return target;
}
