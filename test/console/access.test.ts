import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { SopClient } from '../../src/client';
import { consoleSettings } from '../../src/console/settings';
import { resolveTemporalTarget } from '../../src/temporal/target';
import { type ConsoleApp, consoleApp, csrfOf, signInCookies, TOKENS } from '../support/console-app';

// The console's access rules at the HTTP level. Temporal is never reached: the SopClient points at a port
// nothing listens on, so a request that got past the checks would fail with a server error, not the refusal
// these tests expect.

const target = resolveTemporalTarget({ TEMPORAL_ADDRESS: '127.0.0.1:1' });
const sop = new SopClient(
  new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }), namespace: 'default' }),
  target,
);
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const formHeaders = (cookie: string, extra: Record<string, string> = {}) => ({
  cookie,
  'content-type': 'application/x-www-form-urlencoded',
  ...extra,
});

let c: ConsoleApp;
beforeEach(async () => {
  c = await consoleApp(sop);
});
afterEach(async () => {
  await c.close();
});

test('no session: the runs page and the answer action are 401, the sign-in form is served', async () => {
  const page = await c.app.inject({ method: 'GET', url: '/console/runs' });
  expect(page.statusCode).toBe(401);
  expect(page.body).toContain('href="/console/login"');
  const post = await c.app.inject({
    method: 'POST',
    url: '/console/run/answer?id=s/t',
    headers: formHeaders(''),
    payload: form({ requestId: 'r1', decision: 'approve' }),
  });
  expect(post.statusCode).toBe(401);
  expect((await c.app.inject({ method: 'GET', url: '/console/login' })).statusCode).toBe(200);
  // a wrong token signs nobody in
  await expect(signInCookies(c.app, 'not-a-token-at-all-xx')).rejects.toThrow(/answered 401/);
});

test('a viewer answering or cancelling gets 403; the refusal is recorded and nothing is sent', async () => {
  const session = await signInCookies(c.app, TOKENS.viewer);
  const { csrf, cookie } = await csrfOf(c.app, session);
  for (const [url, fields] of [
    ['/console/run/answer?id=gate/t1', { requestId: 'r1', decision: 'reject', reason: 'no' }],
    ['/console/run/cancel?id=gate/t1', { confirm: 'yes' }],
  ] as const) {
    const res = await c.app.inject({
      method: 'POST',
      url,
      headers: formHeaders(cookie),
      payload: form({ _csrf: csrf, ...fields }),
    });
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('vera (viewer) may not');
    expect(res.body).toContain('Nothing was sent');
  }
  expect(c.auditLines()).toEqual([
    expect.objectContaining({
      who: 'vera',
      role: 'viewer',
      action: 'answer',
      target: 'gate/t1',
      outcome: 'refused',
    }),
    expect.objectContaining({
      who: 'vera',
      role: 'viewer',
      action: 'cancel',
      target: 'gate/t1',
      outcome: 'refused',
    }),
  ]);
});

test("a forged cross-site POST is refused: without the CSRF token, with another user's token, or from another origin", async () => {
  const session = await signInCookies(c.app, TOKENS.operator);
  const { csrf, cookie } = await csrfOf(c.app, session);
  const post = (fields: Record<string, string>, extra: Record<string, string> = {}) =>
    c.app.inject({
      method: 'POST',
      url: '/console/run/cancel?id=gate/t1',
      headers: formHeaders(cookie, extra),
      payload: form({ confirm: 'yes', ...fields }),
    });
  expect((await post({})).statusCode).toBe(403);
  expect((await post({ _csrf: 'forged' })).statusCode).toBe(403);
  const other = await csrfOf(c.app, await signInCookies(c.app, TOKENS.viewer));
  expect((await post({ _csrf: other.csrf })).statusCode).toBe(403);
  expect((await post({ _csrf: csrf }, { origin: 'https://evil.example' })).statusCode).toBe(403);
  // nothing reached the run (no audit entry: the requests never got to the action)
  expect(c.auditLines()).toEqual([]);
  // the console's own form, with its token and from its own origin, gets past every check (to the confirmation)
  const res = await post(
    { _csrf: csrf, confirm: '' },
    { host: 'console.test:8788', origin: 'http://console.test:8788' },
  );
  expect(res.statusCode).toBe(200);
  expect(res.body).toContain('Yes, cancel');
});

test('session cookies are signed, HTTP-only and SameSite=Strict; a tampered one is no session', async () => {
  const form = await c.app.inject({ method: 'GET', url: '/console/login' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const res = await c.app.inject({
    method: 'POST',
    url: '/console/login',
    headers: formHeaders(form.cookies.map((k) => `${k.name}=${k.value}`).join('; ')),
    payload: form_({ _csrf: csrf, token: TOKENS.approver }),
  });
  const session = res.cookies.find((k) => k.name === 'sop_console');
  expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
  const tampered = `sop_console=${session!.value.replace(/^./, (ch) => (ch === 'a' ? 'b' : 'a'))}`;
  expect(
    (await c.app.inject({ method: 'GET', url: '/console/runs', headers: { cookie: tampered } })).statusCode,
  ).toBe(401);
});
const form_ = form;

test('sop serve on 0.0.0.0 without authentication refuses to start, naming the settings', () => {
  expect(() => consoleSettings({}, '0.0.0.0', 'me')).toThrow(
    /SOP_CONSOLE_TOKENS_FILE.*SOP_CONSOLE_PROXY_HEADER/,
  );
  expect(consoleSettings({}, '127.0.0.1', 'me').access.open).toEqual({ name: 'me', role: 'operator' });
  let out = '';
  try {
    execFileSync(
      process.execPath,
      [path.join(__dirname, '..', '..', 'bin', 'sop.js'), 'serve', '--host', '0.0.0.0', '--port', '0'],
      {
        env: { ...process.env, SOP_CONSOLE_TOKENS_FILE: '', SOP_CONSOLE_PROXY_HEADER: '' },
        encoding: 'utf8',
        stdio: 'pipe',
        timeout: 20_000,
      },
    );
  } catch (err) {
    const e = err as { status: number; stderr: string };
    out = e.stderr;
    expect(e.status).not.toBe(0);
  }
  expect(out).toMatch(/0\.0\.0\.0.*open to everyone.*SOP_CONSOLE_TOKENS_FILE/);
});

test('a trusted proxy names the user; the same header from anywhere else names nobody', async () => {
  const proxied = await consoleApp(sop, {
    SOP_CONSOLE_PROXY_HEADER: 'X-Forwarded-User',
    SOP_CONSOLE_PROXY_ROLE_HEADER: 'X-Forwarded-Role',
    SOP_CONSOLE_PROXY_FROM: '127.0.0.1',
  });
  try {
    const from = (remoteAddress: string) =>
      proxied.app.inject({
        method: 'GET',
        url: '/console/login',
        remoteAddress,
        headers: { 'x-forwarded-user': 'pat', 'x-forwarded-role': 'approver' },
      });
    expect((await from('127.0.0.1')).body).toContain('signed in as pat (approver)');
    expect((await from('10.1.2.3')).body).not.toContain('signed in as pat');
  } finally {
    await proxied.close();
  }
});
