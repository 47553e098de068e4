import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { workflowIdOf } from '../../client';
import { readHistoryEvidence } from '../../evidence/history';
import { KeyFileError, loadPublicKey } from '../../evidence/signing';
import { type Verification, type VerifyOptions, verifyPack, verifyRunFolder } from '../../evidence/verify';
import { CliError, ExitCode } from '../errors';
import { printJson } from '../output';
import { runRef, withSopClient } from '../with-client';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      "check an evidence pack: every file against its evidence record, the record chain, the pack's signature (--key) and Temporal history (--against-history)",
    )
    .argument(
      '<args...>',
      "PACK; with --against-history: SOP TASK [PACK | RUN_FOLDER] (default: the run folder in the run's workspace)",
    )
    .option(
      '--key <pub.pem>',
      "the signer's Ed25519 public key (PEM): the pack must be signed with its private key",
    )
    .option(
      '--against-history',
      "compare every evidence record with the evidence hash the run's Temporal history holds",
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
          if (given && !fs.statSync(given).isDirectory()) {
            target = given;
            return verifyPack(given, options);
          }
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
          if (options.publicKey)
            throw new CliError('--key checks a pack, not a run folder', ExitCode.usage, 'give the pack');
          if (!fs.existsSync(target))
            throw new CliError(`run folder ${target} does not exist`, ExitCode.notFound);
          return verifyRunFolder(target, history);
        });
      } else {
        if (args.length !== 1)
          throw new CliError('expected one PACK (or --against-history SOP TASK [PACK])', ExitCode.usage);
        target = args[0];
        if (!fs.existsSync(target)) throw new CliError(`${target} does not exist`, ExitCode.notFound);
        result = await verifyPack(target, options);
      }
      report(target!, result, opts.json);
    });
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

function report(target: string, result: Verification, json?: boolean): void {
  const { checked } = result;
  if (json) {
    printJson({
      ok: result.ok,
      problems: result.problems,
      head: result.manifest?.head ?? null,
      files: checked.files,
      records: checked.records,
      signedBy: checked.signedBy ?? null,
      signatureChecked: checked.signatureChecked,
      historyRuns: checked.history ?? null,
    });
  } else if (result.ok) {
    const parts = [
      result.manifest ? `${result.manifest.sop}/${result.manifest.task}` : undefined,
      `${checked.files} files`,
      `${checked.records} evidence records intact`,
      checked.signatureChecked
        ? `signed by key ${checked.signedBy!.slice(0, 16)}… (verified)`
        : checked.signedBy
          ? `signed by key ${checked.signedBy.slice(0, 16)}… (not checked: pass --key PUB)`
          : undefined,
      checked.history !== undefined
        ? `every record matches Temporal history (${checked.history} execution${checked.history === 1 ? '' : 's'})`
        : undefined,
    ];
    process.stdout.write(`${target}: OK — ${parts.filter(Boolean).join(', ')}\n`);
  } else {
    for (const problem of result.problems) process.stderr.write(`${target}: ${problem}\n`);
  }
  if (!result.ok)
    throw new CliError(
      `${target} failed verification (${result.problems.length} problem(s))`,
      ExitCode.failure,
    );
}
