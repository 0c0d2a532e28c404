/**
 * Base58check (Bitcoin's base58 with a 4-byte double-SHA-256 checksum), with a result that
 * tells a bad alphabet from a bad checksum so callers can raise the specific error.
 */
import { base58 } from '@scure/base';
import { hash256 } from '../hash.ts';

/** Outcome of {@link decodeBase58Check}. */
export type Base58CheckResult =
  | { readonly ok: true; readonly payload: Uint8Array }
  | { readonly ok: false; readonly reason: 'encoding' | 'checksum' | 'too_long' };

/**
 * Decodes a base58check string without throwing. Inputs longer than `maxLength` characters are
 * refused before decoding (base58 decoding is quadratic in the length).
 * @param text - the base58check string
 * @param maxLength - the longest accepted input (default 120 characters)
 * @returns the payload without its checksum, or why it failed
 */
export function decodeBase58Check(text: string, maxLength = 120): Base58CheckResult {
  if (text.length > maxLength) return { ok: false, reason: 'too_long' };
  let raw: Uint8Array;
  try {
    raw = base58.decode(text);
  } catch {
    return { ok: false, reason: 'encoding' };
  }
  if (raw.length < 4) return { ok: false, reason: 'encoding' };
  const payload = raw.subarray(0, raw.length - 4);
  const sum = hash256(payload);
  for (let i = 0; i < 4; i++) {
    if (sum[i] !== raw[raw.length - 4 + i]) return { ok: false, reason: 'checksum' };
  }
  return { ok: true, payload };
}

/**
 * Encodes bytes as base58check.
 * @param payload - version byte(s) and data
 * @returns the base58 string of `payload || hash256(payload)[0..4]`
 */
export function encodeBase58Check(payload: Uint8Array): string {
  const out = new Uint8Array(payload.length + 4);
  out.set(payload, 0);
  out.set(hash256(payload).subarray(0, 4), payload.length);
  return base58.encode(out);
}
