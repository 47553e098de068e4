// Task ids for triggered runs: `<trigger>-<key>`, where the key comes from outside (a polled item's id, a
// delivery id) and must become a valid, deterministic task id. Pure: workflow code uses it.

import { TASK_ID_PATTERN } from './names';

/** `<trigger>-<key>` when that is a valid task id; otherwise the key made safe plus a hash of the original. */
export function triggeredTaskId(trigger: string, key: string): string {
  const plain = `${trigger}-${key}`;
  if (TASK_ID_PATTERN.test(plain)) return plain;
  const safe = key.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '');
  return `${trigger}-${safe.slice(0, 80)}-${fnv1a(key)}`.slice(0, 128);
}

/** 32-bit FNV-1a as 8 hex digits: enough to keep distinct keys apart after they were made safe. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
