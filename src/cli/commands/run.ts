import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { didYouMean, formatDiagnostic } from '../../shapes/diagnostics';
import type { Provider } from '../../shapes/execution-plan';
import { Catalog, type CatalogEntry } from '../../sop/catalog';
import type { SopBundle } from '../../sop/compile';
import { sopVersionText } from '../../sop/resolve';
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
  priority?: string;
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
    .option('--priority <n>', "the run's place in quota lines: 1 (first) to 5 (last); default 2 (a person)")
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
    .action(async (sopName: string, requestText: string | undefined, opts: RunOptions) => {
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
      // the in-process worker resolves with this same catalog: the SOP, its children and its listeners
      const projectDir = path.resolve(opts.project ?? workspace);
      const local = localSop(new Catalog({ projectDir, workspace }), sopName, opts.worker);
      const name = local?.bundle.name ?? sopName;
      const request = {
        task: opts.task,
        repo: { path: workspace },
        input: {
          ...(opts.inputFile ? readInputFile(opts.inputFile) : {}),
          ...(requestText !== undefined ? { request: requestText } : {}),
          ...pairs(opts.input, '--input'),
        },
        params: pairs(opts.param, '--param'),
        ...(opts.provider ? { provider: opts.provider as Provider } : {}),
        ...(opts.priority !== undefined ? { priority: Number(opts.priority) } : {}),
        rerun: opts.rerun,
      };

      await withSopClient(
        async (client) => {
          // before the run exists: a refusal must not leave a started run behind
          if (opts.worker && !opts.detach) await refuseSharedTaskQueue(client);
          // with the local bundle: checked here first by the workers' resolver, and pinned to its hash
          const handle = await client.start(local?.bundle ?? name, request);
          const taskId = handle.workflowId.slice(name.length + 1);
          const link = client.webUiLink(name, taskId);
          const log = (line: string) => process.stderr.write(`${line}\n`);
          log(
            `started ${handle.workflowId}${local ? ` (bundle ${local.bundle.hash.slice(0, 12)})` : ''}${link ? `\nWeb UI: ${link}` : ''}`,
          );
          if (opts.detach) {
            if (opts.json)
              printJson({
                workflowId: handle.workflowId,
                webUi: link ?? null,
              });
            return;
          }
          const ref = { sop: name, taskId };
          const outcome = await withRecording(opts.record, ref, () =>
            withWorker(
              client,
              opts.worker,
              () => followToEnd(client, handle, ref, { interactive: isInteractive(opts.json), workspace }),
              { projectDir },
            ),
          );
          if (!opts.worker && local && !outcome.ok && outcome.why.startsWith('sopVersion:'))
            throw differsFromWorkers(local, outcome.why, client.target.taskQueue);
          reportOutcome(outcome, { ...ref, workflowId: handle.workflowId, workspace, link, json: opts.json });
        },
        { startServer: true },
      );
    });
}

/**
 * The SOP as this folder's catalog has it. Absent with --no-worker: the workers may have it (they say so
 * when they do not); with the in-process worker, whose catalog this is, it is an error.
 */
function localSop(
  catalog: Catalog,
  sopName: string,
  inProcessWorker: boolean,
): { entry: CatalogEntry; bundle: SopBundle } | undefined {
  const entry = catalog.find(sopName);
  if (!entry) {
    if (!inProcessWorker) return undefined;
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
  return { entry, bundle: compiled.bundle };
}

/** --no-worker: the workers' SOP is not this folder's; the run was refused instead of running theirs. */
function differsFromWorkers(
  local: { entry: CatalogEntry; bundle: SopBundle },
  why: string,
  taskQueue: string,
): CliError {
  // the resolver's line ends with the worker's side: `... on worker <host> (version 2, bundle <hash>)`
  const theirs = / on (\S+ \S+) \((version .*, bundle [0-9a-f]+)\)$/.exec(why);
  return new CliError(
    `${local.bundle.name} here is not the one the workers on ${taskQueue} have, so the run was refused: here (${local.entry.dir}) ${sopVersionText(local.bundle)}; ${theirs ? `${theirs[1]}: ${theirs[2]}` : why}`,
    ExitCode.failure,
    "put this SOP in the workers' catalog (`sop worker` prints it at start), or leave out --no-worker to run it on an in-process worker with this folder's catalog",
  );
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
