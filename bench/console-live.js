// The console half of the `live` rows: a real `sop serve` process (open on loopback, as for the person who
// runs it) and its run page open in Debian's Chromium, driven by playwright-core. A MutationObserver in the
// page notes when each command action first enters the page (`li.live-command` with its `data-seq` and
// `<time datetime>`: the ISO time the worker saw the harness report it), in the live section while the step
// runs or under the step's line in the timeline once it ended (from its result in history: its last second's
// actions, after the page reloads itself as the run ends), and hands {seq, at, seenAt} to this process. Both times come from the same machine's wall clock (the worker's `new Date()`, the page's
// `Date.now()`); `clockCheck` makes sure the page's clock reads the same as this process's.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const bin = path.join(__dirname, '..', 'bin', 'sop.js');

/** The Chromium the row drives, or an error saying how to get one (the row never skips silently). */
function chromiumPath() {
  const { envValue } = require('../dist/config/env');
  const file = envValue('SOP_CHROMIUM', process.env);
  if (!fs.existsSync(file))
    throw new Error(
      `the console row needs Chromium: none at ${file} (SOP_CHROMIUM). Run scripts/setup.sh (it installs Debian's chromium) or set SOP_CHROMIUM to a Chromium binary`,
    );
  return file;
}

/** In the page, from its first byte (every load: the page reloads itself when the run's status changes). */
const OBSERVER = `(() => {
  const seen = new Set();
  const scan = () => {
    const seenAt = Date.now();
    const fresh = [];
    const shown = '[data-testid=live-actions] li.live-command[data-seq], [data-testid=ended-actions] li.live-command[data-seq]';
    for (const li of document.querySelectorAll(shown)) {
      if (seen.has(li.dataset.seq)) continue;
      seen.add(li.dataset.seq);
      const at = li.querySelector('time[datetime]')?.getAttribute('datetime');
      const ended = li.closest('[data-testid=ended-actions]') !== null;
      fresh.push({ seq: Number(li.dataset.seq), at, text: li.textContent, seenAt, ended });
    }
    if (fresh.length > 0) window.__sopLiveSeen(fresh);
  };
  new MutationObserver(scan).observe(document, { childList: true, subtree: true });
})();`;

/** `sop serve --port 0` in a project of its own until it says where it listens: its base URL. */
async function startServe(env) {
  const project = fs.mkdtempSync(path.join(os.homedir(), '.sop-bench-console-'));
  const own = { ...env };
  // open on loopback: no sign-in (the row measures the live section, not the session)
  for (const name of ['SOP_CONSOLE_TOKENS_FILE', 'SOP_CONSOLE_PROXY_HEADER']) delete own[name];
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--port', '0', '--host', '127.0.0.1', '--project', project],
    { env: own, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const base = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`sop serve exited ${code} before it listened: ${stderr}`)));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const at = /listening on (http:\/\/\S+)/.exec(stderr);
      if (at) resolve(at[1]);
    });
  });
  child.removeAllListeners('exit');
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(project, { recursive: true, force: true });
  };
  return { base, stop };
}

/** The page's Date.now() against this process's, read between two of its own: throws when they disagree. */
async function clockCheck(page) {
  const before = Date.now();
  const inPage = await page.evaluate(() => Date.now());
  const after = Date.now();
  if (inPage < before - 1 || inPage > after + 1)
    throw new Error(
      `the page's clock (${inPage}) is not this process's (${before}-${after}): the console row cannot compare them`,
    );
}

/**
 * Opens the run page of `workflowId` in Chromium through a real `sop serve`, once its live section shows
 * (the run is waiting for its go-ahead). `seen()`: each command action the page showed, first time only; `allSeen`: waits for them.
 */
async function openConsole(workflowId, env) {
  const executablePath = chromiumPath();
  const { chromium } = require('playwright-core');
  const serve = await startServe(env);
  let browser;
  try {
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
    const page = await browser.newPage();
    const first = new Map();
    await page.exposeFunction('__sopLiveSeen', (items) => {
      for (const item of items) if (!first.has(item.seq)) first.set(item.seq, item);
    });
    await page.addInitScript(OBSERVER);
    await page.goto(`${serve.base}/console/run?id=${encodeURIComponent(workflowId)}`);
    await page.waitForSelector('[data-testid=live]', { timeout: 30_000 });
    await clockCheck(page);
    return {
      seen: () => [...first.values()],
      /** waits (at most `ms`) until the page has shown `count` actions */
      allSeen: async (count, ms) => {
        const until = Date.now() + ms;
        while (first.size < count && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      },
      close: async () => {
        try {
          await clockCheck(page);
        } finally {
          await browser.close();
          await serve.stop();
        }
      },
    };
  } catch (err) {
    await browser?.close();
    await serve.stop();
    throw err;
  }
}

module.exports = { chromiumPath, openConsole };
