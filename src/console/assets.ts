// The console's only stylesheet and script, served from the package (the console works offline). The script
// refreshes the live section every 700 ms (the worker heartbeats the live view at most 1 s apart: an action is
// on the page within about 2 s) and, every 2 s, reloads the page when the run's status or its pending
// requests or what runs now change (not while someone is typing a reason), keeping open what was open.
export const CONSOLE_JS = `(() => {
  const kept = 'sop-open:' + location.pathname + location.search;
  for (const key of JSON.parse(sessionStorage.getItem(kept) || '[]')) {
    const el = document.querySelector('details[data-key="' + CSS.escape(key) + '"]');
    if (el) el.open = true;
  }
  sessionStorage.removeItem(kept);
  const reload = () => {
    const open = [...document.querySelectorAll('details[open][data-key]')].map((el) => el.dataset.key);
    sessionStorage.setItem(kept, JSON.stringify(open));
    location.reload();
  };
  const typing = () => {
    const el = document.activeElement;
    return el && (el.tagName === 'TEXTAREA' || el.tagName === 'INPUT') && el.value;
  };
  let busy = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    for (const el of document.querySelectorAll('[data-refresh]')) {
      try {
        const res = await fetch(el.dataset.refresh, { credentials: 'same-origin' });
        if (res.ok) el.innerHTML = await res.text();
      } catch {}
    }
    busy = false;
  };
  const watch = async () => {
    const el = document.querySelector('[data-reload-when-done]');
    if (el && !typing()) {
      try {
        const res = await fetch(el.dataset.reloadWhenDone, { credentials: 'same-origin' });
        const now = res.ok ? await res.json() : null;
        if (now && now.state !== el.dataset.status) reload();
      } catch {}
    }
  };
  if (document.querySelector('[data-refresh]')) setInterval(refresh, 700);
  if (document.querySelector('[data-reload-when-done]')) setInterval(watch, 2000);
})();
`;

export const CONSOLE_CSS = `
:root { --fg: #1d232b; --muted: #67707c; --line: #d9dde3; --accent: #2457c5; --bg: #fff; --soft: #f4f6f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; justify-content: space-between; align-items: center; padding: 8px 20px; border-bottom: 1px solid var(--line); background: var(--soft); }
header nav a { margin-right: 16px; color: var(--fg); text-decoration: none; font-weight: 500; }
header nav a.brand { font-weight: 700; }
.who .role { color: var(--muted); margin: 0 8px; }
main { padding: 16px 20px; max-width: 1200px; }
h1 { font-size: 20px; margin: 4px 0 12px; } h2 { font-size: 16px; margin: 20px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; } h3 { font-size: 14px; margin: 8px 0; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 500; }
a { color: var(--accent); }
.muted, small { color: var(--muted); }
.warn { color: #a15c00; } .failure { color: #b42318; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; background: var(--soft); border: 1px solid var(--line); }
.status-running { background: #e8f0fe; border-color: #aac4f6; } .status-waiting_input { background: #fff4d6; border-color: #f0cf75; }
.status-completed { background: #e6f4ea; border-color: #9fd3ae; } .status-failed, .status-terminated, .status-timed_out { background: #fde8e7; border-color: #f2a9a3; }
.status-cancelled { background: #eee; }
.route { font-family: ui-monospace, monospace; background: var(--soft); padding: 0 4px; border-radius: 3px; }
pre, code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12px; }
pre { background: var(--soft); padding: 8px; overflow: auto; max-height: 480px; border-radius: 4px; }
.decision { border: 1px solid #f0cf75; background: #fffbeb; padding: 8px 12px; border-radius: 6px; margin: 8px 0; }
.decision textarea, .decision input, .decision select { display: block; width: 100%; max-width: 640px; margin: 4px 0 8px; font: inherit; padding: 4px; }
.buttons button, form.inline button { margin-right: 8px; padding: 4px 12px; font: inherit; cursor: pointer; }
button.approve { background: #e6f4ea; border: 1px solid #9fd3ae; } button.reject { background: #fde8e7; border: 1px solid #f2a9a3; }
form.inline { display: inline; }
.filters { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin-bottom: 8px; }
.filters input, .filters select { padding: 4px; font: inherit; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; } dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.live-actions { font-family: ui-monospace, monospace; font-size: 12px; padding-left: 20px; } .live-actions time { color: var(--muted); }
details.actions summary { cursor: pointer; color: var(--muted); font-size: 12px; } details.actions p { margin: 4px 0; }
.live-denial { color: #b42318; } .live-approval { color: #a15c00; }
.markdown { border-left: 3px solid var(--line); padding-left: 12px; }
.pages a { margin-right: 16px; }
.notice { padding: 8px 12px; border-radius: 6px; background: #e6f4ea; margin: 8px 0; } .notice.error { background: #fde8e7; }
`;
