// `{{ a.b.c }}` substitution over a plain scope. Pure (no node modules): the workflow renders short
// texts (input questions) with it and activities render prompts and artifact paths.

export function lookup(scope: unknown, path: string): unknown {
  let value: unknown = scope;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Unknown variables are left as written, so a mistake shows in the output instead of vanishing. */
export function renderText(template: string, scope: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (whole, path: string) => {
    const value = lookup(scope, path);
    if (value === undefined) return whole;
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}
