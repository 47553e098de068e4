import type { Command } from 'commander';
import { registerControl } from './control';
import { registerDev } from './dev';
import { registerDoctor } from './doctor';
import { registerInit } from './init';
import { registerKeys } from './keys';
import { registerLogs } from './logs';
import { registerQuotas } from './quotas';
import { registerRestart } from './restart';
import { registerRun } from './run';
import { registerRuns } from './runs';
import { registerServe } from './serve';
import { registerSmoke } from './smoke';
import { registerTemporal } from './temporal';
import { registerTest } from './test';
import { registerTriggers } from './triggers';
import { registerValidate } from './validate';
import { registerVerify } from './verify';
import { registerWorker } from './worker';
import { registerWorkflows } from './workflows';

/** Every verb lives in its own file under this folder and is registered here, in help order. */
export function registerCommands(program: Command): void {
  registerInit(program);
  registerWorkflows(program);
  registerValidate(program);
  registerRun(program);
  registerTest(program);
  registerRuns(program);
  registerQuotas(program);
  registerLogs(program);
  registerControl(program);
  registerRestart(program);
  registerTriggers(program);
  registerVerify(program);
  registerKeys(program);
  registerTemporal(program);
  registerServe(program);
  registerWorker(program);
  registerDev(program);
  registerDoctor(program);
  registerSmoke(program);
}
