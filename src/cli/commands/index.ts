import type { Command } from 'commander';
import { registerServer } from './server';
import { registerSmoke } from './smoke';
import { registerWorker } from './worker';

/** Every verb lives in its own file under this folder and is registered here, in help order. */
export function registerCommands(program: Command): void {
  registerServer(program);
  registerWorker(program);
  registerSmoke(program);
}
