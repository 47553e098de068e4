// The worker's secrets: named values from its environment or from the dotenv file SOP_SECRETS_FILE (the
// environment wins). Only the names an SOP declares are looked up; values never leave the worker except
// into the environment of the tool server or command that refers to them (src/policies/secrets.ts).

import * as fs from 'node:fs';
import { parse } from 'dotenv';
import { envValue } from './env';

export interface SecretLookup {
  values: Record<string, string>;
  /** where each found secret came from */
  sources: Record<string, 'environment' | 'secrets file'>;
  /** declared names that have no value on this worker */
  missing: string[];
}

/** The secrets file's entries; an unreadable file set in SOP_SECRETS_FILE is an error naming it. */
function secretsFile(env: NodeJS.ProcessEnv): Record<string, string> {
  const file = envValue('SOP_SECRETS_FILE', env);
  if (!file) return {};
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `SOP_SECRETS_FILE ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? err}): fix the path or unset it`,
    );
  }
  return parse(text);
}

/** Looks up `names` on this worker: its environment first, then SOP_SECRETS_FILE. Empty values are missing. */
export function lookUpSecrets(names: readonly string[], env: NodeJS.ProcessEnv = process.env): SecretLookup {
  const lookup: SecretLookup = { values: {}, sources: {}, missing: [] };
  if (names.length === 0) return lookup;
  const file = secretsFile(env);
  for (const name of names) {
    const fromEnv = env[name];
    if (fromEnv) {
      lookup.values[name] = fromEnv;
      lookup.sources[name] = 'environment';
    } else if (file[name]) {
      lookup.values[name] = file[name];
      lookup.sources[name] = 'secrets file';
    } else lookup.missing.push(name);
  }
  return lookup;
}
