import type { Command } from 'commander';
import { generateKeyPair, KeyFileError } from '../../evidence/signing';
import { CliError, ExitCode } from '../errors';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('Ed25519 key pairs for signing evidence packs');
  keys
    .command('generate')
    .description('write NAME.pem (private, mode 600) and NAME.pub.pem (public)')
    .requiredOption('--out <name>', 'path and name of the key files, without .pem')
    .action((opts: { out: string }) => {
      try {
        const { privateFile, publicFile, keySha256 } = generateKeyPair(opts.out);
        process.stdout.write(
          `wrote ${privateFile} (keep it secret) and ${publicFile}; key sha256 ${keySha256.slice(0, 16)}…\n`,
        );
      } catch (err) {
        if (err instanceof KeyFileError) throw new CliError(err.message, ExitCode.failure);
        throw err;
      }
    });
}
