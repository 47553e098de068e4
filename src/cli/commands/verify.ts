import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { workflowIdOf } from '../../client';
import { readHistoryEvidence } from '../../evidence/history';
import { MANIFEST } from '../../evidence/manifest';
import { KeyFileError, loadPublicKey } from '../../evidence/signing';
import {
  type Coverage,
  type Verification,
  type VerifyOptions,
  verifyPack,
  verifyPackDir,
  verifyRunFolder,
} from '../../evidence/verify';
import { CliError, ExitCode } from '../errors';
import { printJson } from '../output';
import { runRef, withSopClient } from '../with-client';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      "check an evidence pack or a run folder: every file against its evidence record, the record chain, the pack's signature (--key) and Temporal history (--against-history); the output says which file was compared with what",
    )
    .argument(
      '<args...>',
      "PACK or RUN_FOLDER; with --against-history: SOP TASK [PACK | RUN_FOLDER] (default: the run folder in the run's workspace)",
    )
    .option(
      '--key <pub.pem>',
      "the signer's Ed25519 public key (PEM): the pack must be signed with its private key",
    )
    .option(
      '--against-history',
      "compare every evidence record, run.json, every executions.jsonl line and every command log with what the run's Temporal history recorded",
    )
    .option('--json', 'machine-readable output')
    .action(async (args: string[], opts: { key?: string; againstHistory?: boolean; json?: boolean }) => {
      const options: VerifyOptions = {};
      if (opts.key) {
        try {
          options.publicKey = { key: loadPublicKey(opts.key), file: opts.key };
        } catch (err) {
          if (err instanceof KeyFileError) throw new CliError(err.message, ExitCode.usage);
          throw err;
        }
      }
      let target: string;
      let result: Verification;
      if (opts.againstHistory) {
        const { sop, task, given } = historyArgs(args);
        result = await withSopClient(async (client) => {
          const description = await client.describe(sop, task); // not found: exit 3, naming the run
          const history = await readHistoryEvidence(client.client, workflowIdOf(sop, task));
          options.history = history;
          options.run = { sop, task };
          if (given) target = given;
          else {
            const workspace = description.memo?.workspace as string | undefined;
            if (!workspace)
              throw new CliError(
                `${sop}/${task} records no workspace`,
                ExitCode.notFound,
                'pass the run folder',
              );
            target = path.join(workspace, '.sop', 'runs', sop, task);
          }
          if (!fs.existsSync(target))
            throw new CliError(`run folder ${target} does not exist`, ExitCode.notFound);
          return verifyTarget(target, options);
        });
      } else {
        if (args.length !== 1)
          throw new CliError(
            'expected one PACK or RUN_FOLDER (or --against-history SOP TASK [PACK | RUN_FOLDER])',
            ExitCode.usage,
          );
        target = args[0];
        if (!fs.existsSync(target)) throw new CliError(`${target} does not exist`, ExitCode.notFound);
        result = await verifyTarget(target, options);
      }
      report(target!, result, opts.json);
    });
}

/** A pack file, an extracted pack (a folder with manifest.json) or a run folder. */
async function verifyTarget(target: string, options: VerifyOptions): Promise<Verification> {
  if (!fs.statSync(target).isDirectory()) return verifyPack(target, options);
  if (fs.existsSync(path.join(target, MANIFEST))) return verifyPackDir(target, options);
  if (options.publicKey)
    throw new CliError(
      '--key checks a pack, not a run folder (a run folder has no signature)',
      ExitCode.usage,
      'give the pack',
    );
  return verifyRunFolder(target, options.history);
}

/** SOP TASK [TARGET] or SOP/TASK [TARGET]; a TARGET must exist. */
function historyArgs(args: string[]): { sop: string; task: string; given?: string } {
  const exists = (p: string | undefined) => p !== undefined && fs.existsSync(p);
  let ref: { sop: string; task: string };
  let given: string | undefined;
  if (args.length === 3) [ref, given] = [runRef(args[0], args[1]), args[2]];
  else if (args.length === 2 && args[0].includes('/') && exists(args[1]))
    [ref, given] = [runRef(args[0], undefined), args[1]];
  else if (args.length <= 2) ref = runRef(args[0], args[1]);
  else throw new CliError('expected SOP TASK [PACK | RUN_FOLDER]', ExitCode.usage);
  if (given !== undefined && !exists(given)) throw new CliError(`${given} does not exist`, ExitCode.notFound);
  return { ...ref, given };
}

const RECORD = /(^|\/)evidence\.json$/;
const SHOWN = 12;

/** The files of one kind of comparison, named: evidence records counted, the others by name. */
function named(files: string[]): string {
  const records = files.filter((f) => RECORD.test(f)).length;
  const others = files.filter((f) => !RECORD.test(f));
  const parts = others.slice(0, SHOWN);
  if (others.length > SHOWN) parts.push(`… ${others.length - SHOWN} more (--json lists every file)`);
  if (records) parts.push(`${records} evidence record${records === 1 ? '' : 's'} (steps/…/evidence.json)`);
  return parts.join(', ');
}

function coverageLines(target: string, result: Verification): string[] {
  const { checked, coverage } = result;
  const c: Coverage = coverage;
  const out: string[] = [];
  if (c.history.length)
    out.push(
      `  against Temporal history (${checked.history} execution${checked.history === 1 ? '' : 's'}): ${c.history.length} — ${named(c.history)}`,
    );
  for (const note of c.notes) out.push(`    ${note}`);
  if (c.records.length)
    out.push(
      `  against evidence records: ${c.records.length} (prompts, transcripts, harness files, artifacts)`,
    );
  if (c.hashOnly.length) {
    const by = checked.signatureChecked
      ? 'the signed manifest.json'
      : 'manifest.json, which is not signed or whose signature was not checked: edited together with it, a file would pass';
    out.push(`  by hash only (${by}): ${c.hashOnly.length} — ${named(c.hashOnly)}`);
  }
  if (checked.signatureChecked) out.push(`  signed by key ${checked.signedBy!.slice(0, 16)}… (verified)`);
  else if (checked.signedBy)
    out.push(`  signed by key ${checked.signedBy.slice(0, 16)}… (not checked: pass --key PUB)`);
  if (c.unchecked.length) {
    out.push(`  not checked, nothing to compare them with: ${c.unchecked.length} — ${named(c.unchecked)}`);
    if (checked.history === undefined) out.push(`  to check them: ${historyCommand(target)}`);
  }
  return out;
}

/** `sop verify --against-history SOP TASK FOLDER`, with the SOP and task run.json names when it can. */
function historyCommand(folder: string): string {
  let run = 'SOP TASK';
  try {
    const summary = JSON.parse(fs.readFileSync(path.join(folder, 'run.json'), 'utf8'));
    if (typeof summary.sop === 'string' && typeof summary.task === 'string')
      run = `${summary.sop} ${summary.task}`;
  } catch {
    // no readable run.json: the placeholders
  }
  return `sop verify --against-history ${run} ${folder}`;
}

function report(target: string, result: Verification, json?: boolean): void {
  const { checked, coverage } = result;
  if (json) {
    printJson({
      ok: result.ok,
      problems: result.problems,
      head: result.manifest?.head ?? null,
      files: checked.files,
      records: checked.records,
      compared: {
        againstHistory: coverage.history,
        againstRecords: coverage.records,
        byHashOnly: coverage.hashOnly,
      },
      unchecked: coverage.unchecked,
      notes: coverage.notes,
      signedBy: checked.signedBy ?? null,
      signatureChecked: checked.signatureChecked,
      historyRuns: checked.history ?? null,
    });
  } else if (result.ok) {
    const compared = checked.files - coverage.unchecked.length;
    const run = result.manifest ? `${result.manifest.sop}/${result.manifest.task}: ` : '';
    const lines = [
      `${target}: OK — ${run}${compared} of ${checked.files} files compared, all intact`,
      ...coverageLines(target, result),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } else {
    for (const problem of result.problems) process.stderr.write(`${target}: ${problem}\n`);
  }
  if (!result.ok)
    throw new CliError(
      `${target} failed verification (${result.problems.length} problem(s))`,
      ExitCode.failure,
    );
}
