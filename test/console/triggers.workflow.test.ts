import { randomUUID } from 'node:crypto';
import { SopClient } from '../../src/client';
import { Catalog } from '../../src/sop/catalog';
import { resolveTemporalTarget } from '../../src/temporal/target';
import { syncTriggers } from '../../src/triggers/sync';
import { type ConsoleApp, consoleApp, csrfOf, signInCookies, TOKENS } from '../support/console-app';
import { connectForTest, type TemporalTestContext } from '../support/temporal';
import { triggerProject } from '../support/trigger-project';

// The console's triggers page on the real dev server: a schedule synced from the catalog shows its next fire,
// an operator pauses it from the page (the Schedule is paused, the note names them), a viewer cannot, and the
// webhook deliveries `sop serve` answered are listed with their codes.

const sop = `console-tick-${randomUUID().slice(0, 6)}`;
const project = triggerProject(
  sop,
  `name: ${sop}\ninput:\n  request: { type: string }\ntriggers:\n  hourly:\n    schedule: { every: 1h }\n    input: { request: "tick" }\nsteps:\n  stamp:\n    run: "true"\n    routes: { passed: finish }\n`,
);

let ctx: TemporalTestContext;
let c: ConsoleApp;
beforeAll(async () => {
  ctx = await connectForTest();
  const target = { ...resolveTemporalTarget(process.env), taskQueue: project.taskQueue };
  await syncTriggers(ctx.client, new Catalog({ projectDir: project.dir }), project.taskQueue);
  c = await consoleApp(new SopClient(ctx.client, target), {}, project.dir);
});
afterAll(async () => {
  await ctx?.client.schedule
    .getHandle(`${sop}/hourly`)
    .delete()
    .catch(() => undefined);
  await c?.close();
  await ctx?.close();
});

const post = (cookie: string, csrf: string, fields: Record<string, string>) =>
  c.app.inject({
    method: 'POST',
    url: '/console/triggers/pause',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
  });

test('a schedule shows its next fire; an operator pauses it in the page, a viewer gets 403', async () => {
  const olga = await csrfOf(c.app, await signInCookies(c.app, TOKENS.operator), '/console/triggers');
  const page = await c.app.inject({
    method: 'GET',
    url: '/console/triggers',
    headers: { cookie: olga.cookie },
  });
  expect(page.statusCode).toBe(200);
  const row = page.body.split('data-testid="trigger-row"')[1] ?? '';
  expect(row).toContain(`${sop}.hourly`);
  expect(row).toContain('active');
  expect(row).toMatch(/<td>active<\/td><td><\/td><td>\d{4}-\d\d-\d\dT[\d:.]+Z<\/td>/); // no fire yet, the next one
  expect(row).toContain(`data-testid="pause-${sop}.hourly"`);

  const vera = await csrfOf(c.app, await signInCookies(c.app, TOKENS.viewer), '/console/triggers');
  expect(
    (await c.app.inject({ method: 'GET', url: '/console/triggers', headers: { cookie: vera.cookie } })).body,
  ).not.toContain('data-testid="pause-');
  const refused = await post(vera.cookie, vera.csrf, { trigger: `${sop}.hourly`, paused: 'true' });
  expect(refused.statusCode).toBe(403);
  expect((await ctx.client.schedule.getHandle(`${sop}/hourly`).describe()).state.paused).toBe(false);

  const done = await post(olga.cookie, olga.csrf, { trigger: `${sop}.hourly`, paused: 'true' });
  expect(done.statusCode).toBe(303);
  const state = (await ctx.client.schedule.getHandle(`${sop}/hourly`).describe()).state;
  expect(state).toMatchObject({ paused: true, note: 'paused by olga in the sop console' });
  const after = await c.app.inject({
    method: 'GET',
    url: '/console/triggers',
    headers: { cookie: olga.cookie },
  });
  expect(after.body).toContain('paused (paused by olga in the sop console)');
  expect(c.auditLines()).toEqual([
    expect.objectContaining({ who: 'vera', action: 'trigger', outcome: 'refused' }),
    expect.objectContaining({
      who: 'olga',
      action: 'trigger',
      target: `${sop}.hourly`,
      outcome: 'sent',
      detail: 'pause',
    }),
  ]);
});

test('the webhook deliveries sop serve answered are listed with their codes', async () => {
  await c.app.inject({ method: 'POST', url: '/hooks/nobody-declares-this', payload: '{}' });
  const cookie = await signInCookies(c.app, TOKENS.viewer);
  const page = await c.app.inject({ method: 'GET', url: '/console/triggers', headers: { cookie } });
  expect(page.body).toMatch(/<td>nobody-declares-this<\/td><td>404<\/td><td>unknown hook<\/td>/);
});
