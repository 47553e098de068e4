import { z } from 'zod';

// The evidence pack's manifest.json. zod is the single source of truth for its shape; unknown fields are
// kept (a newer exporter may add some), so older verifiers still check what they know.

export const PACK_FORMAT = 'sop-evidence-pack/1';
export const MANIFEST = 'manifest.json';
/** the link before the first evidence record */
export const GENESIS = '0'.repeat(64);

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex (64 characters)');

const packSignatureSchema = z.object({
  algorithm: z.literal('ed25519'),
  /** sha256 of the signing key's public key (SPKI DER), to name the key */
  keySha256: hex64,
  /** base64 Ed25519 signature over the signed statement (see signing.ts) */
  value: z.string().min(1),
});

export const packManifestSchema = z.looseObject({
  format: z.literal(PACK_FORMAT),
  sop: z.string(),
  task: z.string(),
  exportedAt: z.string(),
  run: z.unknown(),
  files: z.array(z.object({ path: z.string(), sha256: hex64, size: z.number().int().nonnegative() })),
  chain: z.array(z.object({ record: z.string(), sha256: hex64, link: hex64 })),
  head: hex64,
  /** run-folder-relative files the runtime rewrote after an agent wrote them (worklist sources) */
  runtimeWritten: z.array(z.string()).optional(),
  signature: packSignatureSchema.optional(),
});

export type PackManifest = z.infer<typeof packManifestSchema>;
export type PackSignature = z.infer<typeof packSignatureSchema>;
