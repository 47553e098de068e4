// Server-rendered HTML: a tagged template that escapes every value unless it is already HTML (`raw`), and
// the page frame (navigation, the signed-in user, the console's own stylesheet and script; nothing external).
import type { Identity } from './access';

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export const raw = (text: string) => new Html(text);

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

type Part = Html | string | number | boolean | null | undefined | Part[];

function render(value: Part): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** html`<p>${text}</p>`: values are escaped, Html values and arrays of them are inserted as they are. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** A console URL under its prefix, with query parameters (empty ones left out). */
export function consoleUrl(path: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, v);
  const q = params.toString();
  return `/console${path}${q ? `?${q}` : ''}`;
}

export interface PageFrame {
  title: string;
  who?: Identity;
  /** the CSRF token for the sign-out form */
  csrf?: string;
  body: Html;
}

export function page(frame: PageFrame): string {
  const who = frame.who;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} · sop console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script></head>
<body><header><nav><a href="/console/runs" class="brand">sop console</a>
<a href="/console/runs">Runs</a><a href="/console/triggers">Triggers</a></nav>
${who ? html`<div class="who"><span data-testid="identity">${who.name}</span> <span class="role">${who.role}</span>${frame.csrf ? html`<form method="post" action="/console/logout" class="inline"><input type="hidden" name="_csrf" value="${frame.csrf}"><button>Sign out</button></form>` : ''}</div>` : ''}
</header><main>${frame.body}</main></body></html>`.text;
}

/** The CSS class of a status badge. */
export const statusClass = (status: string) => `status status-${status.replace(/[^a-z_]/g, '')}`;
