// Webhook signatures: HMAC-SHA256 of the raw body under the hook's shared secret, compared in constant
// time before anything of the body is parsed. GitHub sends it as `X-Hub-Signature-256: sha256=<hex>`;
// a plain `hmac-sha256` hook reads `X-Signature-256` (`sha256=<hex>` or bare hex). GitHub's are checked by
// @octokit/webhooks-methods, the Octokit project's own verification.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureKind = 'github' | 'hmac-sha256';

/** The (lower-case) header each kind carries its signature in. */
export const SIGNATURE_HEADER: Record<SignatureKind, string> = {
  github: 'x-hub-signature-256',
  'hmac-sha256': 'x-signature-256',
};

/** `sha256=<hex>` of the body: what a sender computes (tests and the curl example of docs/triggers.md do the same). */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is the body's HMAC-SHA256 under `secret`. Constant time in the digest compared. */
export function signatureMatches(
  kind: SignatureKind,
  secret: string,
  body: Buffer,
  header: string | undefined,
): boolean {
  if (!header) return false;
  const hex = header.startsWith('sha256=') ? header.slice('sha256='.length) : kind === 'github' ? '' : header;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(hex, 'hex'));
}

/** Whether `header` signs the body: GitHub's with @octokit/webhooks-methods, hmac-sha256 with signatureMatches. */
export async function verifySignature(
  kind: SignatureKind,
  secret: string,
  body: Buffer,
  header: string | undefined,
): Promise<boolean> {
  if (kind !== 'github') return signatureMatches(kind, secret, body, header);
  if (!header || body.length === 0) return false;
  // the package exports only an `import` condition, so require() cannot load it: import() does
  const { verify } = await import('@octokit/webhooks-methods');
  return verify(secret, body.toString('utf8'), header);
}
