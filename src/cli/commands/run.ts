import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { Provider } from '../../model/plan';
import { Catalog } from '../../sop/catalog';
import { didYouMean, formatDiagnostic } from '../../sop/diagnostics';
import { planFromBundle } from '../../sop/plan';
import { inputWithDefaults, unknownParamsProblem } from '../../sop/run-input';
import { parseYamlText } from '../../sop/yaml-source';
import { followToEnd, refuseSharedTaskQueue, reportOutcome, withWorker } from '../attach';
import { CliError, ExitCode } from '../errors';
import { printJson } from '../output';
import { withRecording } from '../record';
import { withSopClient } from '../with-client';

interface RunOptions {
  task?: string;
  input: string[];
  inputFile?: string;
  param: string[];
  provider?: string;
  workspace: string;
  project?: string;
  detach?: boolean;
  worker: boolean;
  rerun?: boolean;
  json?: boolean;
  record?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('start a run of an SOP; attached, follow it to the end (an in-process worker serves it)')
    .argument('<sop>', 'SOP name or alias (see sop workflows list)')
    .argument('[request]', 'the request, as input.request')
    .option('--task <id>', 'task id (default: generated); the run is <sop>/<task>')
    .option('--input <k=v>', 'an input field (repeatable; JSON values allowed)', collect, [])
    .option('--input-file <file>', 'input fields from a JSON or YAML file')
    .option('--param <k=v>', 'a param (repeatable; JSON values allowed)', collect, [])
    .option('--provider <name>', 'codex | claude: the provider for steps that do not name one')
    .option('--workspace <dir>', 'the repository the agents work in', '.')
    .option('-C, --project <dir>', 'project root (sops/, sop.config.yaml; default: the workspace)')
    .option('--rerun', 're-run a task id whose earlier run has finished')
    .option('--detach', 'start and return; follow with sop logs --follow')
    .option('--no-worker', 'do not start an in-process worker (workers run elsewhere)')
    .option('--json', 'machine-readable result')
    .option(
      '--record <file>',
      "record the model's replies as a scenario `sop test` can replay (a proxy between the harnesses and their model APIs)",
    )
    .action(async (sopName: string, request: string | undefined, opts: RunOptions) => {
      if (opts.record && (opts.detach || !opts.worker))
        throw new CliError(
          '--record needs the in-process worker: its harnesses are the ones pointed at the recording proxy',
          ExitCode.usage,
          'leave out --detach and --no-worker',
        );
      if (opts.provider && opts.provider !== 'codex' && opts.provider !== 'claude') {
        throw new CliError(`--provider must be codex or claude, not "${opts.provider}"`, ExitCode.usage);
      }
      const workspace = path.resolve(opts.workspace);
      if (!fs.existsSync(workspace) || !fs.statSync(workspace).isDirectory()) {
        throw new CliError(`workspace ${workspace} is not a directory`, ExitCode.usage);
      }
      const catalog = new Catalog({ projectDir: opts.project ?? workspace, workspace });
      const entry = catalog.find(sopName);
      if (!entry) {
        const suggestion = didYouMean(sopName, catalog.names());
        throw new CliError(
          `no SOP named "${sopName}"${suggestion ? `: did you mean "${suggestion}"?` : ''}`,
          ExitCode.notFound,
          'sop workflows list shows the catalog',
        );
      }
      const compiled = catalog.compile(entry);
      if (!compiled.bundle) {
        for (const d of compiled.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
        throw new CliError(`${entry.name} does not compile`, ExitCode.failure, `sop validate ${entry.dir}`);
      }
      const bundle = compiled.bundle;
      const input = inputWithDefaults(bundle, {
        ...(opts.inputFile ? readInputFile(opts.inputFile) : {}),
        ...(request !== undefined ? { request } : {}),
        ...pairs(opts.input, '--input'),
      });
      const params = pairs(opts.param, '--param');
      const paramsProblem = unknownParamsProblem(bundle, params);
      if (paramsProblem) throw new CliError(paramsProblem, ExitCode.usage);
      let plan: ReturnType<typeof planFromBundle>;
      try {
        plan = planFromBundle(bundle, { params, provider: opts.provider as Provider | undefined });
      } catch (err) {
        throw new CliError((err as Error).message, ExitCode.usage);
      }

      await withSopClient(
        async (client) => {
          // before the run exists: a refusal must not leave a started run behind
          if (opts.worker && !opts.detach) await refuseSharedTaskQueue(client);
          const handle = await client.start(plan, {
            taskId: opts.task,
            input,
            params,
            workspace,
            rerun: opts.rerun,
          });
          const taskId = handle.workflowId.slice(plan.sop.length + 1);
          const link = client.webUiLink(plan.sop, taskId);
          const log = (line: string) => process.stderr.write(`${line}\n`);
          log(
            `started ${handle.workflowId} (bundle ${bundle.hash.slice(0, 12)})${link ? `\nWeb UI: ${link}` : ''}`,
          );
          if (opts.detach) {
            if (opts.json)
              printJson({
                workflowId: handle.workflowId,
                webUi: link ?? null,
              });
            return;
          }
          const ref = { sop: plan.sop, taskId };
          const outcome = await withRecording(opts.record, ref, () =>
            withWorker(client, opts.worker, () =>
              followToEnd(client, handle, ref, { interactive: isInteractive(opts.json), workspace }),
            ),
          );
          reportOutcome(outcome, { ...ref, workflowId: handle.workflowId, workspace, link, json: opts.json });
        },
        { startServer: true },
      );
    });
}

/** Answers are asked for on the terminal only when a person is there (and the output is not JSON). */
export function isInteractive(json?: boolean): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY && !json && !process.env.CI);
}

function pairs(values: string[], flag: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new CliError(`${flag} expects key=value, got "${value}"`, ExitCode.usage);
    const raw = value.slice(eq + 1);
    let parsed: unknown = raw;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // a plain string
    }
    out[value.slice(0, eq)] = parsed;
  }
  return out;
}

function readInputFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read --input-file ${file}: ${(err as Error).message}`, ExitCode.usage);
  }
  let data: unknown;
  try {
    data = parseYamlText(text, file);
  } catch (err) {
    // coded and located, like an SOP's YAML errors
    throw new CliError(`--input-file ${file} is not valid YAML:\n${(err as Error).message}`, ExitCode.usage);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new CliError(`--input-file ${file} must hold a mapping of input fields`, ExitCode.usage);
  }
  return data as Record<string, unknown>;
}
