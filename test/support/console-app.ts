// The server `sop serve` runs (webhook ingress and the console under /console) for tests, on a SopClient of the
// test's choosing, with a tokens file of three users: vera (viewer), abe (approver) and olga (operator).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { SopClient } from '../../src/client';
import { consolePlugin } from '../../src/console/plugin';
import { consoleSettings } from '../../src/console/settings';
import { type AnsweredDelivery, buildIngress } from '../../src/serve/ingress';

export const TOKENS = {
  viewer: 'viewer-token-0123456789',
  approver: 'approver-token-0123456789',
  operator: 'operator-token-0123456789',
};

export interface ConsoleApp {
  app: FastifyInstance;
  projectDir: string;
  auditLines(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function consoleApp(
  sop: SopClient,
  env: NodeJS.ProcessEnv = {},
  project?: string,
): Promise<ConsoleApp> {
  const own = fs.mkdtempSync(path.join(os.homedir(), '.sop-console-test-'));
  const projectDir = project ?? own;
  const tokens = path.join(own, 'tokens.yaml');
  fs.writeFileSync(
    tokens,
    `users:\n  - { name: vera, role: viewer, token: ${TOKENS.viewer} }\n  - { name: abe, role: approver, token: ${TOKENS.approver} }\n  - { name: olga, role: operator, token: ${TOKENS.operator} }\n`,
  );
  const settings = consoleSettings({ SOP_CONSOLE_TOKENS_FILE: tokens, ...env }, '127.0.0.1', 'nobody');
  const deliveries: AnsweredDelivery[] = [];
  const app = buildIngress({
    hooks: new Map(),
    start: async () => ({ started: false, workflowId: '', runId: '' }),
    answered: (d) => deliveries.push(d),
  });
  await app.register(consolePlugin, {
    prefix: '/console',
    sop,
    ...settings,
    projectDir,
    hooks: [],
    deliveries: () => deliveries,
  });
  await app.ready();
  const audit = path.join(projectDir, '.sop', 'console', 'audit.jsonl');
  return {
    app,
    projectDir,
    auditLines: () =>
      fs.existsSync(audit)
        ? fs
            .readFileSync(audit, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [],
    close: async () => {
      await app.close();
      fs.rmSync(own, { recursive: true, force: true });
    },
  };
}

/** Signs in over HTTP (GET the form for its CSRF token, POST the token): the cookies of the session. */
export async function signInCookies(app: FastifyInstance, token: string): Promise<string> {
  const form = await app.inject({ method: 'GET', url: '/console/login' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const jar = cookieHeader(form.cookies);
  const res = await app.inject({
    method: 'POST',
    url: '/console/login',
    headers: { cookie: jar, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrf, token }).toString(),
  });
  if (res.statusCode !== 303)
    throw new Error(`sign-in answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
  return [jar, cookieHeader(res.cookies)].filter(Boolean).join('; ');
}

export const cookieHeader = (cookies: Array<{ name: string; value: string }>) =>
  cookies.map((c) => `${c.name}=${c.value}`).join('; ');

/** The CSRF token of a page the session got. */
export async function csrfOf(
  app: FastifyInstance,
  cookie: string,
  url = '/console/login',
): Promise<{ csrf: string; cookie: string }> {
  const res = await app.inject({ method: 'GET', url, headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1];
  if (!csrf) throw new Error(`no CSRF token on ${url} (${res.statusCode}): ${res.body.slice(0, 300)}`);
  const more = cookieHeader(res.cookies);
  return { csrf, cookie: more ? `${cookie}; ${more}` : cookie };
}
