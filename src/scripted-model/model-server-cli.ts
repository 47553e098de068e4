// `node dist/scripted-model/model-server-cli.js --scenario FILE [--port N]`: serve a scenario until SIGINT/SIGTERM.

import { startModelServer } from './model-server';
import { loadScenario } from './scenario';

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const file = arg('--scenario');
  if (!file) {
    process.stderr.write('usage: model-server-cli --scenario FILE [--port N]\n');
    process.exit(2);
  }
  const server = await startModelServer(loadScenario(file), { port: Number(arg('--port') ?? 0) });
  process.stdout.write(`${server.url}\n`);
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`model server: ${err.message}\n`);
  process.exit(1);
});
