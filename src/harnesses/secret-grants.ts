// A launch's secrets (src/policies/secrets.ts): the step's stdio tool servers whose `env:` refers to
// `${{ secrets.NAME }}` are started through secret-launcher.js, which reads their filled-in variables
// from a file of this launch in a worker-owned folder outside the workspace (mode 0600, denied to the
// agent's sandbox, deleted after the launch). The harness's argv, config files and environment hold
// only the references; the redactor takes the values out of everything the launch records.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lookUpSecrets } from '../config/secrets';
import { fillSecrets, MIN_SECRET_LENGTH, Redactor, secretReferences, secretsOf } from '../policies/secrets';
import type { ToolGrant } from '../shapes/tool-grants';
import { packageRoot } from '../temporal/package-paths';
import { HarnessFatalError } from './runner';

export interface SecretLaunch {
  /** the grants as the harness is given them: servers with secrets start through the launcher */
  grants: ToolGrant[];
  /** the folder with the servers' secrets (deny it to the agent); absent without secrets */
  dir?: string;
  redactor: Redactor;
  /** the secret names the launch gave its servers (for the evidence) */
  names: string[];
  close(): void;
}

const SECRET_LAUNCHER = path.join(packageRoot, 'dist', 'harnesses', 'secret-launcher.js');

/** The secret names the grants' servers refer to (servers started for this launch only). */
function grantSecrets(grants: ToolGrant[]): string[] {
  return [
    ...new Set(
      grants
        .filter((g) => g.allow.length > 0 && 'command' in g.spec)
        .flatMap((g) => ('command' in g.spec ? secretsOf(g.spec.env) : [])),
    ),
  ];
}

/** Values of `names` on this worker, or a refusal naming the missing ones (never a value). */
export function workerSecretValues(names: string[], what: string): Record<string, string> {
  let lookup: ReturnType<typeof lookUpSecrets>;
  try {
    lookup = lookUpSecrets(names);
  } catch (err) {
    throw new HarnessFatalError((err as Error).message);
  }
  if (lookup.missing.length > 0)
    throw new HarnessFatalError(
      `${what} needs the secret${lookup.missing.length > 1 ? 's' : ''} ${lookup.missing.join(', ')}, which worker ${os.hostname()} does not have: set ${lookup.missing.length > 1 ? 'them' : 'it'} in the worker's environment or in its SOP_SECRETS_FILE`,
    );
  const short = names.filter((n) => lookup.values[n].length < MIN_SECRET_LENGTH);
  if (short.length > 0)
    throw new HarnessFatalError(
      `the secret${short.length > 1 ? 's' : ''} ${short.join(', ')} ${short.length > 1 ? 'are' : 'is'} shorter than ${MIN_SECRET_LENGTH} characters, too short to be redacted reliably from the record`,
    );
  return lookup.values;
}

export function prepareSecrets(grants: ToolGrant[], parent: string): SecretLaunch {
  for (const g of grants)
    if (
      !('command' in g.spec) &&
      Object.values(g.spec.headers ?? {}).some((v) => secretReferences(v).length > 0)
    )
      throw new HarnessFatalError(
        `tool server ${g.server}: secrets reach only a stdio server's env: (an HTTP server's headers would be in the harness's config)`,
      );
  const names = grantSecrets(grants);
  if (names.length === 0) return { grants, redactor: new Redactor({}), names, close: () => {} };
  const values = workerSecretValues(names, 'a tool server of the step');
  const dir = fs.mkdtempSync(path.join(parent, 'secrets-'));
  fs.chmodSync(dir, 0o700);
  const launched = grants.map((grant) => {
    const spec = grant.spec;
    if (grant.allow.length === 0 || !('command' in spec) || secretsOf(spec.env).length === 0) return grant;
    const entries = Object.entries(spec.env ?? {});
    const secret = Object.fromEntries(entries.filter(([, v]) => secretReferences(v).length > 0));
    const plain = Object.fromEntries(entries.filter(([, v]) => secretReferences(v).length === 0));
    const file = path.join(dir, `${grant.server}.json`);
    fs.writeFileSync(file, JSON.stringify({ env: fillSecrets(secret, values) }), { mode: 0o600 });
    return {
      ...grant,
      spec: {
        ...spec,
        command: process.execPath,
        args: [SECRET_LAUNCHER, file, spec.command, ...(spec.args ?? [])],
        ...(Object.keys(plain).length > 0 ? { env: plain } : { env: undefined }),
      },
    };
  });
  return {
    grants: launched,
    dir,
    names,
    redactor: new Redactor(values),
    close: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Rewrites every file under `dir` that holds a secret value with the values redacted. */
function redactFolder(dir: string, redactor: Redactor): void {
  if (redactor.empty || !fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const text = fs.readFileSync(file, 'utf8');
    if (redactor.finds(text)) fs.writeFileSync(file, redactor.text(text));
  }
}

/**
 * Runs one launch with its tool servers' secrets: the files exist while `launch` runs, and whatever it
 * returns, throws or leaves in the execution folder has the values redacted.
 */
export async function withSecrets<T>(
  execution: { spec: { tools?: ToolGrant[] }; executionDir: string },
  parent: string,
  launch: (secrets: SecretLaunch) => Promise<T>,
): Promise<T> {
  const secrets = prepareSecrets(execution.spec.tools ?? [], parent);
  try {
    return secrets.redactor.json(await launch(secrets));
  } catch (err) {
    if (err instanceof Error && !secrets.redactor.empty) {
      err.message = secrets.redactor.text(err.message);
      if (err.stack) err.stack = secrets.redactor.text(err.stack);
    }
    throw err;
  } finally {
    secrets.close();
    redactFolder(execution.executionDir, secrets.redactor);
  }
}
