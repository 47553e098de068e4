// The Codex CLI adapter: one `codex exec --json` process per agent execution (HARNESSES.md §2.1).
// Hermetic (own CODEX_HOME, user config and rules ignored, unknown config keys fatal), the policy as a
// permission profile, the outcome through --output-schema, events parsed line by line as they arrive.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import type { AgentExecution, AgentRunner, AgentRunResult } from '../activities/agent-runner';
import { compilePolicy } from '../policies/compile';
import { resolveHarnessBinary } from './binaries';
import { harnessEnv, type ProviderConnection, parseOutcome, redactArgs, StreamCollector } from './common';

/** A model Codex knows: with unknown ids it falls back to a tool set without apply_patch. */
export const DEFAULT_CODEX_MODEL = 'gpt-5.5';

export class CodexRunner implements AgentRunner {
  constructor(private readonly connection: ProviderConnection = {}) {}

  async run(execution: AgentExecution): Promise<AgentRunResult> {
    const binary = resolveHarnessBinary('codex');
    const compiled = compilePolicy(execution.spec.policy, 'codex', { workspace: execution.workspace });
    // CODEX_HOME must not live under /tmp (the sandbox helper refuses it, HARNESSES.md §2.1.3)
    const home = fs.mkdtempSync(path.join(stateDir(), 'codex-home-'));
    const schemaFile = path.join(execution.executionDir, 'outcome-schema.json');
    const lastMessageFile = path.join(execution.executionDir, 'last-message.txt');
    fs.writeFileSync(schemaFile, JSON.stringify(execution.outcomeSchema, null, 2));

    const model = execution.spec.model ?? this.connection.model ?? DEFAULT_CODEX_MODEL;
    const args = [
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--ignore-user-config',
      '--ignore-rules',
      '--strict-config',
    ];
    args.push('-C', execution.workspace, '-m', model, ...compiled.args);
    if (execution.spec.effort) args.push('-c', `model_reasoning_effort="${execution.spec.effort}"`);
    const keyVar = this.connection.apiKeyEnv ?? 'OPENAI_API_KEY';
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
      );
    }
    args.push('--output-schema', schemaFile, '-o', lastMessageFile, '-');

    const env = harnessEnv({ CODEX_HOME: home }, keyVar, this.connection);
    const collector = new StreamCollector(execution);
    let lastMessage: string | undefined;
    let failure: string | undefined;
    let usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
    let sessionId: string | undefined;
    const changedFiles: string[] = [];

    try {
      const child = execa(binary.path, args, {
        cwd: execution.workspace,
        env,
        extendEnv: false,
        input: execution.prompt, // the prompt on stdin, closed after (never an open stdin, §2.1.1)
        reject: false,
        cancelSignal: execution.signal,
        forceKillAfterDelay: 5000,
        maxBuffer: { stdout: 0, stderr: 1024 * 1024 },
        buffer: { stdout: false, stderr: true },
        lines: false,
      });
      for await (const line of child.iterable({ from: 'stdout' })) {
        const event = collector.line(String(line));
        if (!event) continue;
        switch (event.type) {
          case 'thread.started':
            sessionId = String(event.thread_id);
            break;
          case 'item.completed': {
            const item = event.item as Record<string, unknown>;
            if (item.type === 'agent_message') lastMessage = String(item.text ?? '');
            if (item.type === 'file_change') {
              for (const change of (item.changes as Array<{ path: string }>) ?? [])
                changedFiles.push(change.path);
            }
            break;
          }
          case 'turn.completed': {
            const u = event.usage as Record<string, number>;
            usage = { inputTokens: u.input_tokens ?? 0, outputTokens: u.output_tokens ?? 0, costUsd: 0 };
            break;
          }
          case 'turn.failed':
            failure = String((event.error as { message?: string })?.message ?? 'turn failed');
            break;
        }
        execution.heartbeat({ harness: 'codex', sessionId, events: collector.events });
      }
      const result = await child;
      collector.close();
      if (execution.signal.aborted) throw new Error('the Codex run was cancelled');
      if (result.exitCode !== 0 || failure) {
        const stderr = String(result.stderr ?? '')
          .trim()
          .split('\n')
          .slice(-5)
          .join('\n');
        // infrastructure failure: Temporal retries the activity with backoff
        throw new Error(
          `codex exited ${result.exitCode ?? result.signal}${failure ? `: ${failure}` : ''}${stderr ? `\n${stderr}` : ''}`,
        );
      }
      copyRollout(home, execution.executionDir);
      const parsed = parseOutcome(lastMessage, 'the last agent message');
      return {
        ...parsed,
        usage,
        sessionId,
        effectiveConfig: {
          harness: 'codex',
          version: binary.version,
          argv: redactArgs(args),
          policy: compiled.effective,
          enforced: compiled.enforced,
          warnings: compiled.warnings,
          filesChanged: changedFiles.map((f) => path.relative(execution.workspace, f)),
        },
      };
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }
}

/** Codex reports sandbox denials only in its rollout file (finding 3): keep it with the evidence. */
function copyRollout(home: string, executionDir: string): void {
  const sessions = path.join(home, 'sessions');
  if (!fs.existsSync(sessions)) return;
  const files = (fs.readdirSync(sessions, { recursive: true }) as string[]).filter((f) =>
    f.endsWith('.jsonl'),
  );
  if (files.length > 0)
    fs.copyFileSync(path.join(sessions, files[0]), path.join(executionDir, 'codex-rollout.jsonl'));
}

export function stateDir(): string {
  const dir = process.env.SOP_STATE_DIR ?? path.join(os.homedir(), '.local', 'state', 'sop-runtime');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
