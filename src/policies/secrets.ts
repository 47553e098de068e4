// Scoped secrets: an SOP declares the secrets it needs (`secrets: [NAME]`) and refers to one as
// `${{ secrets.NAME }}` in a stdio tool server's `env:` or a command step's `env:`; nowhere else. The
// reference text is what travels (plan, history, evidence); the value is filled in on the worker, at the
// launch, into the server's or the command's environment only, and redacted from everything recorded.

/** A secret's name: an environment variable name. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const REFERENCE = /\$\{\{\s*secrets\.([A-Za-z0-9_-]*)\s*\}\}/g;

/** Secrets shorter than this could not be told apart from ordinary text when redacting: refused. */
export const MIN_SECRET_LENGTH = 8;

/** The secret names a text refers to (`${{ secrets.NAME }}`), in order, with the offset of each. */
export function secretReferences(text: string): Array<{ name: string; index: number }> {
  return [...text.matchAll(REFERENCE)].map((m) => ({ name: m[1], index: m.index ?? 0 }));
}

/** Every secret name the values of `record` refer to. */
export function secretsOf(record: Record<string, string> | undefined): string[] {
  return [...new Set(Object.values(record ?? {}).flatMap((v) => secretReferences(v).map((r) => r.name)))];
}

/** The record with each `${{ secrets.NAME }}` replaced by its value; `values` must hold every name used. */
export function fillSecrets(
  record: Record<string, string>,
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [
      key,
      value.replace(REFERENCE, (_, name: string) => {
        const secret = values[name];
        if (secret === undefined) throw new Error(`secret ${name} has no value`);
        return secret;
      }),
    ]),
  );
}

/** Replaces secret values with `[secret NAME]` in text, JSON values and files. */
export class Redactor {
  private readonly entries: Array<[string, string]>;

  constructor(values: Readonly<Record<string, string>>) {
    // longest first: a secret that contains another is redacted whole
    this.entries = Object.entries(values)
      .filter(([, value]) => value.length >= MIN_SECRET_LENGTH)
      .sort((a, b) => b[1].length - a[1].length);
  }

  get empty(): boolean {
    return this.entries.length === 0;
  }

  text(text: string): string {
    let out = text;
    for (const [name, value] of this.entries) {
      if (out.includes(value)) out = out.split(value).join(`[secret ${name}]`);
      // as it appears inside JSON text (quotes, backslashes and control characters escaped)
      const escaped = JSON.stringify(value).slice(1, -1);
      if (escaped !== value && out.includes(escaped)) out = out.split(escaped).join(`[secret ${name}]`);
    }
    return out;
  }

  /** A copy of a JSON-able value with every secret value redacted from its strings. */
  json<T>(value: T): T {
    if (this.empty || value === undefined) return value;
    return JSON.parse(this.text(JSON.stringify(value))) as T;
  }

  /** Whether a text holds any of the secret values (plain or JSON-escaped). */
  finds(text: string): boolean {
    return this.entries.some(
      ([, value]) => text.includes(value) || text.includes(JSON.stringify(value).slice(1, -1)),
    );
  }
}
