/**
 * Script templates used by descriptors and wallets: pushes, multisig (BIP-11/67), tapscript
 * multi_a (BIP-342/387), and the P2PK/P2PKH/P2WPKH/P2SH/P2WSH/P2TR output scripts.
 */
import { InvalidInputError } from '@mofn/core';
import { hash160, sha256 } from '../hash.ts';
import { concat } from '../tx/bytes.ts';
import { pushData, pushNumber } from '../tx/script.ts';

const OP_1 = 0x51;
const OP_DUP = 0x76;
const OP_HASH160 = 0xa9;
const OP_EQUAL = 0x87;
const OP_EQUALVERIFY = 0x88;
const OP_CHECKSIG = 0xac;
const OP_CHECKMULTISIG = 0xae;
const OP_CHECKSIGADD = 0xba;
const OP_NUMEQUAL = 0x9c;

export { pushData, pushNumber } from '../tx/script.ts';


/**
 * `OP_k <key_1> ... <key_n> OP_n OP_CHECKMULTISIG` (BIP-383), keys in the order given.
 * @param threshold - k, 1 <= k <= n
 * @param pubkeys - 33- or 65-byte keys, n <= 20
 * @throws InvalidInputError `script.bad_multisig` for a threshold or key count out of range
 */
export function multisigScript(threshold: number, pubkeys: readonly Uint8Array[]): Uint8Array {
  const n = pubkeys.length;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > n || n > 20) {
    throw new InvalidInputError('script.bad_multisig', `cannot build a ${threshold}-of-${n} multisig script (1 <= M <= N <= 20)`);
  }
  // Fast path for the common case (compressed keys, N <= 16): one allocation.
  let size = 3;
  for (const k of pubkeys) {
    if (k.length !== 33 && k.length !== 65) {
      throw new InvalidInputError('script.bad_multisig', `multisig keys must be 33 or 65 bytes, got ${k.length}`);
    }
    size += 1 + k.length;
  }
  if (threshold <= 16 && n <= 16) {
    const out = new Uint8Array(size);
    out[0] = OP_1 + threshold - 1;
    let o = 1;
    for (const k of pubkeys) {
      out[o++] = k.length;
      out.set(k, o);
      o += k.length;
    }
    out[o++] = OP_1 + n - 1;
    out[o] = OP_CHECKMULTISIG;
    return out;
  }
  const parts: Uint8Array[] = [pushNumber(threshold)];
  for (const k of pubkeys) parts.push(pushData(k));
  parts.push(pushNumber(n), new Uint8Array([OP_CHECKMULTISIG]));
  return concat(...parts);
}

/**
 * BIP-342 / BIP-387 tapscript multisig:
 * `<x_1> OP_CHECKSIG <x_2> OP_CHECKSIGADD ... <x_n> OP_CHECKSIGADD <k> OP_NUMEQUAL`.
 * @param threshold - k, 1 <= k <= n
 * @param xonlyKeys - 32-byte x-only keys in script order, n <= 999
 * @throws InvalidInputError `script.bad_multisig` for a threshold, key count or key length out of range
 */
export function multiAScript(threshold: number, xonlyKeys: readonly Uint8Array[]): Uint8Array {
  const n = xonlyKeys.length;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > n || n > 999) {
    throw new InvalidInputError('script.bad_multisig', `cannot build a ${threshold}-of-${n} multi_a script (1 <= M <= N <= 999)`);
  }
  const k = pushNumber(threshold);
  const out = new Uint8Array(n * 34 + k.length + 1);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const x = xonlyKeys[i]!;
    if (x.length !== 32) throw new InvalidInputError('script.bad_multisig', `multi_a keys must be 32-byte x-only keys, got ${x.length} bytes`);
    out[o++] = 32;
    out.set(x, o);
    o += 32;
    out[o++] = i === 0 ? OP_CHECKSIG : OP_CHECKSIGADD;
  }
  out.set(k, o);
  out[o + k.length] = OP_NUMEQUAL;
  return out;
}

/** `<key> OP_CHECKSIG` (P2PK, or a tapscript `pk()` leaf with a 32-byte key). */
export function p2pkScript(pubkey: Uint8Array): Uint8Array {
  return concat(...[pushData(pubkey), new Uint8Array([OP_CHECKSIG])]);
}

/** `OP_DUP OP_HASH160 <hash160(key)> OP_EQUALVERIFY OP_CHECKSIG`. */
export function p2pkhScript(pubkey: Uint8Array): Uint8Array {
  const out = new Uint8Array(25);
  out[0] = OP_DUP;
  out[1] = OP_HASH160;
  out[2] = 20;
  out.set(hash160(pubkey), 3);
  out[23] = OP_EQUALVERIFY;
  out[24] = OP_CHECKSIG;
  return out;
}

/** `OP_0 <hash160(key)>` (P2WPKH). */
export function p2wpkhScript(pubkey: Uint8Array): Uint8Array {
  const out = new Uint8Array(22);
  out[1] = 20;
  out.set(hash160(pubkey), 2);
  return out;
}

/** `OP_HASH160 <hash160(redeemScript)> OP_EQUAL` (P2SH). */
export function p2shScript(redeemScript: Uint8Array): Uint8Array {
  const out = new Uint8Array(23);
  out[0] = OP_HASH160;
  out[1] = 20;
  out.set(hash160(redeemScript), 2);
  out[22] = OP_EQUAL;
  return out;
}

/** `OP_0 <sha256(witnessScript)>` (P2WSH). */
export function p2wshScript(witnessScript: Uint8Array): Uint8Array {
  const out = new Uint8Array(34);
  out[1] = 32;
  out.set(sha256(witnessScript), 2);
  return out;
}

/** `OP_1 <32-byte output key>` (P2TR). */
export function p2trScript(outputKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(34);
  out[0] = OP_1;
  out[1] = 32;
  out.set(outputKey, 2);
  return out;
}
