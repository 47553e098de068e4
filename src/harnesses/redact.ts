// What looks like a secret, replaced by [redacted]: in the argv the evidence records and in every text the
// live view shows (a command, its output, a tool's input).

const SECRET = /(sk-[A-Za-z0-9_-]{8,}|(?:api[_-]?key|token|secret)=[^\s"]+)/gi;
/** Tokens with a well-known shape: GitHub, AWS access keys, bearer credentials, key=value secrets */
const SECRET_SHAPES =
  /(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|\bBearer\s+[A-Za-z0-9._~+/=-]{8,}|(?:password|passwd|pwd|auth)=[^\s"]+)/gi;

export function redactArgs(args: string[]): string[] {
  return args.map((a) => a.replace(SECRET, '[redacted]'));
}

/**
 * `text` with what looks like a secret replaced by [redacted]: key-shaped tokens, `key=value` secrets, and
 * the values of this process's environment variables whose name says they are secret (KEY, TOKEN, ...).
 */
export function redactText(text: string): string {
  let out = text.replace(SECRET, '[redacted]').replace(SECRET_SHAPES, '[redacted]');
  for (const value of secretEnvValues()) out = out.split(value).join('[redacted]');
  return out;
}

function secretEnvValues(): string[] {
  return Object.entries(process.env)
    .filter(([name, value]) => value && value.length >= 8 && /KEY|TOKEN|SECRET|PASSWORD|AUTH/i.test(name))
    .map(([, value]) => value!);
}
