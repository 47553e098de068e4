// The console's settings from the environment, checked before `sop serve` listens: who may sign in, the key
// that signs its cookies, and the refusal to serve an open console on a non-loopback address.
import { envValue } from '../config/env';
import { type Access, loadAccess, unprotectedProblem } from './access';

export interface ConsoleSettings {
  access: Access;
  sessionSecret?: string;
  sessionHours: number;
}

/** The settings, or an Error naming the setting that is wrong or missing. */
export function consoleSettings(env: NodeJS.ProcessEnv, host: string, openAs: string): ConsoleSettings {
  const access = loadAccess(env, openAs);
  const problem = unprotectedProblem(host, access);
  if (problem) throw new Error(`sop serve --host ${host}: ${problem}`);
  const sessionSecret = envValue('SOP_CONSOLE_SESSION_SECRET', env);
  if (sessionSecret !== undefined && sessionSecret.length < 32)
    throw new Error('SOP_CONSOLE_SESSION_SECRET must be 32 characters or more (e.g. openssl rand -hex 32)');
  return { access, sessionSecret, sessionHours: envValue('SOP_CONSOLE_SESSION_HOURS', env) };
}
