// Markdown artifacts rendered with `marked`, sanitized: raw HTML in the markdown is shown as text, and links
// and images keep only http(s), mailto and relative addresses (no javascript:, no data:). The console's
// Content-Security-Policy forbids inline script besides.
import { Marked, type Tokens } from 'marked';
import { escapeHtml } from './html';

const SAFE_URL = /^(https?:|mailto:|#|\/|\.{0,2}\/|[^:]*$)/i;
const safeUrl = (href: string) => (SAFE_URL.test(href.trim()) ? href : '#');

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html(token: Tokens.HTML | Tokens.Tag) {
      return escapeHtml(token.text);
    },
    link(token: Tokens.Link) {
      const text = this.parser.parseInline(token.tokens);
      const title = token.title ? ` title="${escapeHtml(token.title)}"` : '';
      return `<a href="${escapeHtml(safeUrl(token.href))}"${title} rel="noopener noreferrer">${text}</a>`;
    },
    image(token: Tokens.Image) {
      return `<span class="image">[image: ${escapeHtml(token.text)} ${escapeHtml(safeUrl(token.href))}]</span>`;
    },
  },
});

export function renderMarkdown(text: string): string {
  return marked.parse(text, { async: false });
}

/** JSON pretty-printed (the text as it is when it does not parse). */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
