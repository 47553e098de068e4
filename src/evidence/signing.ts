import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { sha256 } from './hashes';
import { PACK_FORMAT, type PackSignature } from './manifest';

// Ed25519 signatures of evidence packs (node:crypto, PEM key files). The signed statement names the run,
// the evidence chain head and the sha256 of the whole manifest without its signature — so the chain, every
// file's hash and the run summary are covered, and nothing in the pack can change after signing unnoticed.

/** Thrown for a key file that cannot be used; the message names the file and what to do. */
export class KeyFileError extends Error {}

function signedStatement(manifest: Record<string, unknown>): string {
  const { signature: _, ...unsigned } = manifest;
  return JSON.stringify({
    statement: `${PACK_FORMAT} signature`,
    sop: manifest.sop,
    task: manifest.task,
    head: manifest.head,
    manifestSha256: sha256(JSON.stringify(unsigned)),
  });
}

const GENERATE_HINT = 'create a key pair with `sop keys generate --out NAME`';

function readPem(file: string, what: string): string {
  if (!fs.existsSync(file)) throw new KeyFileError(`${what} ${file} does not exist (${GENERATE_HINT})`);
  return fs.readFileSync(file, 'utf8');
}

function ensureEd25519(key: crypto.KeyObject, file: string): crypto.KeyObject {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new KeyFileError(
      `${file} is a ${key.asymmetricKeyType} key; evidence packs are signed with Ed25519 (${GENERATE_HINT})`,
    );
  return key;
}

export function loadPrivateKey(file: string): crypto.KeyObject {
  const pem = readPem(file, 'signing key');
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(pem);
  } catch {
    throw new KeyFileError(`${file} is not a PEM private key (${GENERATE_HINT})`);
  }
  return ensureEd25519(key, file);
}

/** A public key PEM (a private key file is accepted too: its public half is used). */
export function loadPublicKey(file: string): crypto.KeyObject {
  const pem = readPem(file, 'public key');
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey(pem);
  } catch {
    throw new KeyFileError(`${file} is not a PEM public key (${GENERATE_HINT})`);
  }
  return ensureEd25519(key, file);
}

const keySha256 = (publicKey: crypto.KeyObject): string =>
  sha256(publicKey.export({ type: 'spki', format: 'der' }));

export function signManifest(manifest: Record<string, unknown>, privateKey: crypto.KeyObject): PackSignature {
  return {
    algorithm: 'ed25519',
    keySha256: keySha256(crypto.createPublicKey(privateKey)),
    value: crypto.sign(null, Buffer.from(signedStatement(manifest)), privateKey).toString('base64'),
  };
}

/** Problems with the pack's signature under `publicKey` (empty when it verifies). */
export function checkSignature(
  manifest: Record<string, unknown> & { signature?: PackSignature },
  publicKey: crypto.KeyObject,
  keyFile: string,
): string[] {
  const signature = manifest.signature;
  if (!signature)
    return [`the pack is not signed, but --key ${keyFile} asks for a signature (export it with --sign KEY)`];
  const fingerprint = keySha256(publicKey);
  if (signature.keySha256 !== fingerprint)
    return [
      `the pack was signed by another key (key sha256 ${signature.keySha256.slice(0, 16)}…), not by ${keyFile} (${fingerprint.slice(0, 16)}…)`,
    ];
  const ok = crypto.verify(
    null,
    Buffer.from(signedStatement(manifest)),
    publicKey,
    Buffer.from(signature.value, 'base64'),
  );
  return ok
    ? []
    : [
        `manifest.json was changed after signing: the signature by ${keyFile} does not match its chain head and file list`,
      ];
}

/** Writes NAME.pem (private, mode 600) and NAME.pub.pem; refuses to overwrite. */
export function generateKeyPair(name: string): {
  privateFile: string;
  publicFile: string;
  keySha256: string;
} {
  const privateFile = `${name}.pem`;
  const publicFile = `${name}.pub.pem`;
  for (const file of [privateFile, publicFile])
    if (fs.existsSync(file)) throw new KeyFileError(`${file} already exists; choose another --out name`);
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  fs.writeFileSync(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  fs.writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateFile, publicFile, keySha256: keySha256(publicKey) };
}
