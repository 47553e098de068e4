import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { type Browser, chromium, type Page } from 'playwright-core';
import { SopClient } from '../../src/client';
import { APPROVAL_ANSWER_SCHEMA, type ExecutionPlan } from '../../src/shapes/execution-plan';
import { answerUpdate, statusQuery } from '../../src/shapes/messages';
import { type ConsoleApp, consoleApp, signInCookies, TOKENS } from '../support/console-app';
import { finish, plan, role, route, step, to } from '../support/plans';
import { ScriptedRunner } from '../support/scripted-runner';
import { connectForTest, eventually, type TemporalTestContext } from '../support/temporal';
import { endOf, routesOf, withScriptedRun } from '../support/workflow-tier';

// The console in a real browser (Debian's Chromium, driven by playwright-core) against runs of the interpreter
// with the scripted harness: decisions are clicked in the page, and the run must route as the click said.

const CHROMIUM = process.env.SOP_CHROMIUM ?? '/usr/bin/chromium';
/** Where the screenshots for docs/console.md go, when set (scripts/console-screenshots.sh sets it). */
const SHOTS = process.env.SOP_CONSOLE_SCREENSHOTS;

let ctx: TemporalTestContext;
let browser: Browser;
let c: ConsoleApp;
let base: string;
beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: run scripts/setup.sh (it installs Debian's chromium)`);
  ctx = await connectForTest();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  c = await consoleApp(new SopClient(ctx.client, ctx.target));
  base = await c.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await c?.close();
  await browser?.close();
  await ctx?.close();
});

async function signedIn(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/console/login`);
  await page.fill('#token', token);
  await Promise.all([page.waitForURL(/\/console\/runs/), page.click('button:has-text("Sign in")')]);
  return page;
}

const runUrl = (workflowId: string) => `${base}/console/run?id=${encodeURIComponent(workflowId)}`;

/** fix, then a person approves shipping it; a rejection sends the work back to fix with the reason. */
const gate = (sop: string): ExecutionPlan =>
  plan(
    sop,
    [
      step('fix', {
        agent: role('Fix the bug.', ['notes']),
        routes: [
          route('done', {
            kind: 'request_input',
            request: {
              question: 'Ship the fix?',
              schema: APPROVAL_ANSWER_SCHEMA,
              routeOn: { kind: 'approval' },
              routes: [route('approved', finish), route('rejected', to('fix'))],
            },
          }),
        ],
      }),
    ],
    { artifacts: [{ name: 'notes', kind: 'md', path: '{{ run.folder }}/notes.md', required: false }] },
  );

const waitingFor = (handle: WorkflowHandle, n = 1) =>
  eventually(async () => {
    const s = await handle.query(statusQuery);
    return s.pendingInput && (s.answers?.length ?? 0) === n - 1 ? s.pendingInput : undefined;
  }, 30_000);

test('a run waiting for approval is rejected with a reason in the page; the run routes back to fix with it', async () => {
  const fixed = {
    route: 'done',
    write: {
      'fix.txt': 'fixed\n',
      '{{ run.folder }}/notes.md':
        '# Notes\n\nThe bug is **fixed**. <script>document.title = "pwned"</script>\n',
    },
  };
  const runner = new ScriptedRunner({ 'fix/agent': [fixed, fixed] });
  const end = await withScriptedRun(ctx, gate('console-gate'), runner, async (started) => {
    await waitingFor(started.handle);
    const page = await signedIn(TOKENS.approver);
    // the runs list finds it by SOP and status, from visibility
    await page.goto(`${base}/console/runs?sop=console-gate&status=waiting_input`);
    await page.waitForSelector(`a:has-text("${started.run.taskId}")`);
    expect(await page.textContent('[data-testid=total]')).toBe('1 run');
    await page.click(`a:has-text("${started.run.taskId}")`);
    await page.waitForSelector('text=Ship the fix?');
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'console-run.png'), fullPage: true });
    await page.fill('[data-testid=reason]', 'add a regression test first');
    await Promise.all([page.waitForURL(/\/console\/run\?id=/), page.click('[data-testid=reject]')]);
    // the page shows the answer, by the signed-in person
    await page.waitForSelector('#answers >> text=abe (sop console)');
    // the work went back to fix, which asks again: approve through the API to end the run
    const again = await waitingFor(started.handle, 2);
    await started.handle.executeUpdate(answerUpdate, {
      args: [{ requestId: again.requestId, value: { approve: true } }],
    });
    const ended = await endOf(started);
    // the ended run: each accepted step's change with its diff, the markdown artifact rendered (its script
    // shown as text, not run), the evidence checked against history on demand
    await page.goto(runUrl(started.handle.workflowId));
    expect(await page.textContent('[data-testid=status]')).toBe('completed');
    expect(await page.textContent('#changes')).toContain('fix.txt');
    expect(await page.textContent('[data-testid=diff] >> nth=0')).toContain('+fixed');
    expect(await page.textContent('#artifacts .markdown strong')).toBe('fixed');
    expect(await page.locator('#artifacts script').count()).toBe(0);
    expect(await page.title()).not.toBe('pwned');
    await Promise.all([page.waitForURL(/\/console\/run\/evidence/), page.click('[data-testid=verify]')]);
    expect(await page.textContent('[data-testid=evidence-result]')).toMatch(/^OK: /);
    await page.context().close();
    return ended;
  });
  expect(end.result?.status).toBe('completed');
  expect(routesOf(end.result)).toEqual(['fix:done', 'fix:rejected', 'fix:done', 'fix:approved']);
  expect(end.result?.answers?.[0]).toMatchObject({
    value: { approve: false, guidance: 'add a regression test first' },
    route: 'rejected',
    by: 'abe (sop console)',
  });
  const [, second] = runner.prompts('fix/agent');
  expect(second).toContain('abe (sop console)');
  expect(second).toContain('add a regression test first');
  expect(c.auditLines()).toContainEqual(
    expect.objectContaining({ who: 'abe', action: 'answer', outcome: 'sent' }),
  );
});

test('a tool call held by ask: is approved in the page, showing the tool and its input; the call goes through', async () => {
  const runner = new ScriptedRunner({
    'mark/agent': [
      {
        route: 'done',
        askTool: { name: 'Bash', input: { command: 'touch approved.txt' } },
        write: { 'approved.txt': '' },
      },
    ],
  });
  const asking = plan('console-ask', [
    step('mark', {
      agent: {
        ...role('Make the marker file.'),
        provider: 'claude',
        policy: { sandbox: 'workspace-write', ask: ['Bash(touch:*)'] },
      },
      routes: [route('done', finish)],
    }),
  ]);
  const end = await withScriptedRun(ctx, asking, runner, async (started) => {
    await eventually(async () =>
      (await started.handle.query(statusQuery)).pendingInput?.kind === 'tool_approval' ? true : undefined,
    );
    const page = await signedIn(TOKENS.operator);
    await page.goto(runUrl(started.handle.workflowId));
    expect(await page.textContent('[data-testid=tool-name]')).toBe('Bash');
    expect(await page.textContent('[data-testid=tool-input]')).toContain('touch approved.txt');
    // the running step's live activity (its heartbeat details) says what it waits for
    await page.waitForSelector('[data-testid=live-actions] >> text=approval asked: Bash');
    await Promise.all([page.waitForURL(/\/console\/run\?id=/), page.click('[data-testid=approve]')]);
    await page.context().close();
    return endOf(started);
  });
  expect(end.result?.status).toBe('completed');
  expect(runner.calls[0].approved).toBe(true);
  expect(fs.existsSync(path.join(end.run.workspace, 'approved.txt'))).toBe(true);
  expect(end.result?.answers).toEqual([
    expect.objectContaining({ kind: 'tool_approval', value: { approve: true } }),
  ]);
});

test('the live activity of a running step appears in the open page while it runs, without a reload by hand', async () => {
  const runner = new ScriptedRunner({
    'warm/agent': [{ route: 'done', delayMs: 4_000 }],
    'mark/agent': [
      {
        route: 'done',
        askTool: { name: 'Bash', input: { command: 'touch live.txt' } },
        write: { 'live.txt': '' },
      },
    ],
  });
  const twoSteps = plan('console-live', [
    step('warm', { agent: role('Warm up.'), routes: [route('done', to('mark'))] }),
    step('mark', {
      agent: {
        ...role('Make the marker file.'),
        provider: 'claude',
        policy: { sandbox: 'workspace-write', ask: ['Bash(touch:*)'] },
      },
      routes: [route('done', finish)],
    }),
  ]);
  await withScriptedRun(ctx, twoSteps, runner, async (started) => {
    await eventually(async () => (runner.calls.length > 0 ? true : undefined));
    const page = await signedIn(TOKENS.viewer);
    await page.goto(runUrl(started.handle.workflowId));
    // while warm runs: its execution is live, with nothing done yet
    expect(await page.textContent('[data-testid=live]')).toContain('warm · agent · 1 · codex');
    // mark starts and asks: the same page shows it, no navigation
    await page.waitForSelector(
      '[data-testid=live-actions] >> text=approval asked: Bash {"command":"touch live.txt"}',
      { timeout: 20_000 },
    );
    const pending = await eventually(async () => (await started.handle.query(statusQuery)).pendingInput);
    await started.handle.executeUpdate(answerUpdate, {
      args: [{ requestId: pending.requestId, value: { approve: true } }],
    });
    await page.context().close();
    return endOf(started);
  });
});

test("a step's last action, reported after its last heartbeat, is on the open page once the step ends (and after a reload)", async () => {
  const runner = new ScriptedRunner({
    'work/agent': [
      {
        route: 'done',
        actions: [{ kind: 'command', phase: 'started', command: 'echo first' }],
        delayMs: 3_000,
        // the step ends right after it: no heartbeat carries it, only the activity's result in history
        lastAction: { kind: 'command', phase: 'started', command: 'echo last' },
      },
    ],
    'after/agent': [{ route: 'done', delayMs: 15_000 }],
  });
  const twoSteps = plan('console-ended', [
    step('work', { agent: role('Work.'), routes: [route('done', to('after'))] }),
    step('after', { agent: role('Go on.'), routes: [route('done', finish)] }),
  ]);
  await withScriptedRun(ctx, twoSteps, runner, async (started) => {
    await eventually(async () => (runner.calls.length > 0 ? true : undefined));
    const page = await signedIn(TOKENS.viewer);
    await page.goto(runUrl(started.handle.workflowId));
    // while work runs: its first action is live
    await page.waitForSelector('[data-testid=live-actions] >> text=$ echo first', { timeout: 20_000 });
    // work ends and after runs (the run's status stays running): the same page shows work's last action
    const last = '[data-testid=ended-actions] >> text=$ echo last';
    await page.waitForSelector(last, { state: 'attached', timeout: 20_000 });
    expect(runner.calls.map((c) => c.step)).toEqual(['work', 'after']);
    expect(runner.calls[1].endedAt).toBe(0);
    expect(await page.textContent('[data-testid=status]')).toBe('running');
    // the live section never had it: it came from the step's result in history
    expect(await page.textContent('[data-testid=live]')).not.toContain('echo last');
    // opened again: the timeline's line of work has both, collapsed until clicked
    await page.reload();
    const actions = page.locator('[data-testid=ended-actions]');
    await expect(actions.count()).resolves.toBe(1);
    await actions.locator('summary').click();
    const items = actions.locator('li');
    expect(await items.allTextContents()).toEqual([
      expect.stringContaining('$ echo first'),
      expect.stringContaining('$ echo last'),
    ]);
    expect(await items.last().isVisible()).toBe(true);
    // the run ends: the page reloads itself, and what was open stays open
    await page.waitForSelector('[data-testid=status] >> text=completed', { timeout: 30_000 });
    expect(await page.locator('[data-testid=ended-actions][open] >> text=$ echo last').isVisible()).toBe(
      true,
    );
    await page.context().close();
    return endOf(started);
  });
});

test("a viewer's click on Approve is refused with 403 and recorded; the run still waits, with no answer", async () => {
  const runner = new ScriptedRunner({ 'fix/agent': [{ route: 'done' }] });
  const end = await withScriptedRun(ctx, gate('console-viewer'), runner, async (started) => {
    const pending = await waitingFor(started.handle);
    const page = await signedIn(TOKENS.viewer);
    if (SHOTS) {
      await page.goto(`${base}/console/runs`);
      await page.waitForSelector(`a:has-text("${started.run.taskId}")`);
      await page.screenshot({ path: path.join(SHOTS, 'console-runs.png'), fullPage: true });
    }
    await page.goto(runUrl(started.handle.workflowId));
    expect(await page.textContent('.decision .warn')).toContain('Your role (viewer) cannot answer');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click('[data-testid=approve]'),
    ]);
    expect(response.status()).toBe(403);
    expect(await page.textContent('[data-testid=error]')).toContain('vera (viewer) may not answer');
    await page.context().close();
    const status = await started.handle.query(statusQuery);
    expect(status.status).toBe('waiting_input');
    expect(status.pendingInput?.requestId).toBe(pending.requestId);
    expect(status.answers ?? []).toEqual([]);
    await started.handle.executeUpdate(answerUpdate, {
      args: [{ requestId: pending.requestId, value: { approve: true } }],
    });
    return endOf(started);
  });
  expect(end.result?.answers?.[0].by).not.toContain('vera');
  expect(c.auditLines()).toContainEqual(
    expect.objectContaining({
      who: 'vera',
      role: 'viewer',
      action: 'answer',
      target: end.handle.workflowId,
      outcome: 'refused',
    }),
  );
});

test('every filter of the runs page is a query the server answers; a bad value is refused naming the field', async () => {
  const cookie = await signInCookies(c.app, TOKENS.viewer);
  const get = (query: string) =>
    c.app.inject({ method: 'GET', url: `/console/runs?${query}`, headers: { cookie } });
  for (const trigger of ['manual', 'schedule', 'webhook', 'poll', 'event', 'child'])
    expect([trigger, (await get(`trigger=${trigger}&q=x&parent=p/q&sop=s`)).statusCode]).toEqual([
      trigger,
      200,
    ]);
  for (const status of [
    'running',
    'waiting_input',
    'completed',
    'failed',
    'cancelled',
    'terminated',
    'timed_out',
  ])
    expect([status, (await get(`status=${status}&all=1`)).statusCode]).toEqual([status, 200]);
  const bad = await get('status=sleeping');
  expect(bad.statusCode).toBe(400);
  expect(bad.body).toMatch(/status: Invalid option/);
});
