// Starts a tool server with its secrets: `node secret-launcher.js <file> <command> [args...]` reads the
// JSON { env } the adapter wrote for this launch (a worker-owned file outside the workspace, hidden from
// the agent's sandbox) and runs the command with those variables added to its environment. The harness
// starts this launcher instead of the server, so the values are in neither its argv nor its config nor
// its own environment, and so never in the agent's shell.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

function main(): void {
  const [file, command, ...args] = process.argv.slice(2);
  if (!file || !command) {
    process.stderr.write('usage: secret-launcher <env file> <command> [args...]\n');
    process.exit(2);
  }
  let env: Record<string, string>;
  try {
    env = (JSON.parse(fs.readFileSync(file, 'utf8')) as { env: Record<string, string> }).env;
  } catch (err) {
    process.stderr.write(
      `the tool server's secrets cannot be read from ${file}: ${(err as Error).message}\n`,
    );
    process.exit(2);
  }
  const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    process.stderr.write(`the tool server ${command} could not start: ${err.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

main();
