import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { temporalDir } from '../../src/temporal/package-paths';
import { freePort } from './free-port';

/** A dev server of its own (ports, database) started through the project's temporal/start.sh. */
export interface TestDevServer {
  env: { SOP_TEMPORAL_PORT: string; SOP_TEMPORAL_UI_PORT: string; SOP_TEMPORAL_STATE_DIR: string };
  address: string;
  webUiUrl: string;
  start(): Promise<string>;
  stop(): Promise<void>;
  pid(): number | undefined;
}

export async function createTestDevServer(stateDir?: string): Promise<TestDevServer> {
  const port = await freePort();
  let uiPort = await freePort();
  while (uiPort === port) uiPort = await freePort();
  const state = stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sop-temporal-'));
  const env = {
    SOP_TEMPORAL_PORT: String(port),
    SOP_TEMPORAL_UI_PORT: String(uiPort),
    SOP_TEMPORAL_STATE_DIR: state,
  };
  const run = (script: string) =>
    execa('bash', [path.join(temporalDir, script)], { env: { ...process.env, ...env }, stdin: 'ignore' });
  return {
    env,
    address: `127.0.0.1:${port}`,
    webUiUrl: `http://127.0.0.1:${uiPort}`,
    start: async () => (await run('start.sh')).stdout,
    stop: async () => {
      await run('stop.sh');
    },
    pid: () => {
      const file = path.join(state, 'server.pid');
      return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : undefined;
    },
  };
}
