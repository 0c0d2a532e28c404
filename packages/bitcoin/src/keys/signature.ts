/**
 * Strict DER encoding of ECDSA signatures with the trailing sighash byte, exactly as Bitcoin's
 * BIP-66 `IsValidSignatureEncoding` (plus the defined-hashtype rule of STRICTENC).
 */
import { InvalidInputError } from '@mofn/core';

/** Sighash ALL: signs every input and output (the only type mofn's signers produce). */
export const SIGHASH_ALL = 0x01;
/** Sighash NONE: signs no outputs. */
export const SIGHASH_NONE = 0x02;
/** Sighash SINGLE: signs only the output at this input's index. */
export const SIGHASH_SINGLE = 0x03;
/** Flag: signs only this input. */
export const SIGHASH_ANYONECANPAY = 0x80;

/** True if `type` is ALL, NONE or SINGLE, optionally with ANYONECANPAY. Never throws. */
export function isDefinedSighashType(type: number): boolean {
  const base = type & ~SIGHASH_ANYONECANPAY;
  return Number.isInteger(type) && type >= 0 && type <= 0xff && base >= SIGHASH_ALL && base <= SIGHASH_SINGLE;
}

const N = new Uint8Array([
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
  0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);
const HALF_N = new Uint8Array([
  0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
]);

function cmp32(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
function isZero(a: Uint8Array): boolean {
  return a.every((x) => x === 0);
}

/** True if the compact signature's s is at most n/2 (BIP-146 LOW_S). Never throws. */
export function isLowS(sig64: Uint8Array): boolean {
  return sig64 instanceof Uint8Array && sig64.length === 64 && cmp32(sig64.subarray(32), HALF_N) <= 0;
}

function derInt(v: Uint8Array): Uint8Array {
  let start = 0;
  while (start < 31 && v[start] === 0) start++;
  const body = v.subarray(start);
  if ((body[0]! & 0x80) === 0) return body;
  const out = new Uint8Array(body.length + 1);
  out.set(body, 1);
  return out;
}

/**
 * DER-encodes a compact signature and appends the sighash byte.
 * @param sig64 - r || s, each 32 bytes, both in 1..n-1
 * @param sighashType - a defined sighash type (default SIGHASH_ALL)
 * @throws InvalidInputError `signature.invalid` (bad r/s), `signature.invalid_sighash`
 */
export function encodeDerSignature(sig64: Uint8Array, sighashType: number = SIGHASH_ALL): Uint8Array {
  if (!(sig64 instanceof Uint8Array) || sig64.length !== 64) {
    throw new InvalidInputError('signature.invalid', 'compact signature must be 64 bytes (r || s)');
  }
  const r = sig64.subarray(0, 32);
  const s = sig64.subarray(32, 64);
  if (isZero(r) || isZero(s) || cmp32(r, N) >= 0 || cmp32(s, N) >= 0) {
    throw new InvalidInputError('signature.invalid', 'signature r and s must be in 1..n-1');
  }
  if (!isDefinedSighashType(sighashType)) {
    throw new InvalidInputError('signature.invalid_sighash', `undefined sighash type 0x${sighashType.toString(16)}`, { details: { sighashType } });
  }
  const R = derInt(r);
  const S = derInt(s);
  const out = new Uint8Array(6 + R.length + S.length + 1);
  out[0] = 0x30;
  out[1] = 4 + R.length + S.length;
  out[2] = 0x02;
  out[3] = R.length;
  out.set(R, 4);
  out[4 + R.length] = 0x02;
  out[5 + R.length] = S.length;
  out.set(S, 6 + R.length);
  out[out.length - 1] = sighashType;
  return out;
}

function bad(reason: string): InvalidInputError {
  return new InvalidInputError('signature.invalid_der', `signature is not strict DER (BIP-66): ${reason}`, { details: { reason } });
}

function to32(v: Uint8Array, name: string): Uint8Array {
  // DER integers here are positive and minimally encoded, so a 33-byte value starts with 0x00.
  const body = v.length === 33 ? v.subarray(1) : v;
  if (body.length > 32) throw bad(`${name} is longer than 32 bytes`);
  const out = new Uint8Array(32);
  out.set(body, 32 - body.length);
  return out;
}

/**
 * Decodes a DER signature with its sighash byte, enforcing BIP-66 exactly, then requires r and s
 * in 1..n-1 and a defined sighash type. High-S signatures decode (check {@link isLowS}).
 * @returns the compact r || s and the sighash type
 * @throws InvalidInputError `signature.invalid_der`, `signature.invalid` (r or s out of range),
 *   `signature.invalid_sighash`
 */
export function decodeDerSignature(der: Uint8Array): { sig64: Uint8Array; sighashType: number } {
  if (!(der instanceof Uint8Array)) throw bad('not bytes');
  const size = der.length;
  // BIP-66: 0x30 [total-length] 0x02 [R-length] [R] 0x02 [S-length] [S] [sighash]
  if (size < 9) throw bad('too short');
  if (size > 73) throw bad('too long');
  if (der[0] !== 0x30) throw bad('not a compound structure');
  if (der[1] !== size - 3) throw bad('length does not cover the rest');
  const lenR = der[3]!;
  if (5 + lenR >= size) throw bad('R length runs past the end');
  const lenS = der[5 + lenR]!;
  if (lenR + lenS + 7 !== size) throw bad('R and S lengths do not add up');
  if (der[2] !== 0x02) throw bad('R is not an integer');
  if (lenR === 0) throw bad('R is empty');
  if ((der[4]! & 0x80) !== 0) throw bad('R is negative');
  if (lenR > 1 && der[4] === 0x00 && (der[5]! & 0x80) === 0) throw bad('R has excess padding');
  if (der[lenR + 4] !== 0x02) throw bad('S is not an integer');
  if (lenS === 0) throw bad('S is empty');
  if ((der[lenR + 6]! & 0x80) !== 0) throw bad('S is negative');
  if (lenS > 1 && der[lenR + 6] === 0x00 && (der[lenR + 7]! & 0x80) === 0) throw bad('S has excess padding');
  const r = to32(der.subarray(4, 4 + lenR), 'R');
  const s = to32(der.subarray(6 + lenR, 6 + lenR + lenS), 'S');
  if (isZero(r) || isZero(s) || cmp32(r, N) >= 0 || cmp32(s, N) >= 0) {
    throw new InvalidInputError('signature.invalid', 'signature r and s must be in 1..n-1');
  }
  const sighashType = der[size - 1]!;
  if (!isDefinedSighashType(sighashType)) {
    throw new InvalidInputError('signature.invalid_sighash', `undefined sighash type 0x${sighashType.toString(16)}`, { details: { sighashType } });
  }
  const sig64 = new Uint8Array(64);
  sig64.set(r, 0);
  sig64.set(s, 32);
  return { sig64, sighashType };
}
