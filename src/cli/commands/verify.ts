import type { Command } from 'commander';
import { verifyPack } from '../../evidence/pack';
import { CliError, ExitCode } from '../errors';
import { printJson } from '../output';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check an evidence pack: every file hash and the chain of evidence records')
    .argument('<pack>', 'a pack written by `sop runs export`')
    .option('--json', 'machine-readable output')
    .action(async (pack: string, opts: { json?: boolean }) => {
      const result = await verifyPack(pack).catch((err: Error) => {
        throw new CliError(err.message, ExitCode.notFound);
      });
      if (opts.json)
        printJson({ ok: result.ok, problems: result.problems, head: result.manifest?.head ?? null });
      else if (result.ok) {
        const m = result.manifest!;
        process.stdout.write(
          `${pack}: OK — ${m.sop}/${m.task}, ${m.files.length} files, ${m.chain.length} evidence records intact\n`,
        );
      } else {
        for (const problem of result.problems) process.stderr.write(`${pack}: ${problem}\n`);
      }
      if (!result.ok)
        throw new CliError(
          `${pack} failed verification (${result.problems.length} problem(s))`,
          ExitCode.failure,
        );
    });
}
