/**
 * BIP-327 MuSig2 key aggregation (KeySort + KeyAgg) and the BIP-328 synthetic xpub of an
 * aggregate key, as used by BIP-390 `musig()` descriptor keys. Public data only: no signing.
 */
import { InvalidKeyError } from '@mofn/core';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { taggedHash } from '../hash.ts';
import type { ExtendedPublicKey } from '../types.ts';

const Point = secp256k1.Point;
const Fn = Point.Fn;

const CHAIN_CODE_HEX = '868087ca02a6f974c4598924c36b57762d32cb45717167e300622c7167e38965';
const CHAIN_CODE = Uint8Array.from(CHAIN_CODE_HEX.match(/../g)!.map((h) => parseInt(h, 16)));

/** BIP-328: fixed chain code of the synthetic xpub of a MuSig2 aggregate key. */
export const MUSIG_CHAIN_CODE: Uint8Array = CHAIN_CODE.slice();

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return compare(a, b) === 0 && a.length === b.length;
}

function toScalar(b: Uint8Array): bigint {
  let n = 0n;
  for (const x of b) n = (n << 8n) | BigInt(x);
  return n;
}

/** BIP-327 KeySort: lexicographic order of the 33-byte keys (returns a new array). */
export function musigKeySort(keys: readonly Uint8Array[]): Uint8Array[] {
  return [...keys].sort(compare);
}

/**
 * BIP-327 KeyAgg over `keys` in the order given (sort them first with {@link musigKeySort}, as
 * BIP-390 requires).
 * @param keys - 33-byte compressed participant keys (repeats allowed)
 * @returns the 33-byte compressed aggregate key Q (its parity matters for BIP-328 derivation)
 * @throws InvalidKeyError `key.invalid_public_key` for a key off the curve, `key.musig_infinity`
 *   if the aggregate is the point at infinity
 */
export function musigKeyAgg(keys: readonly Uint8Array[]): Uint8Array {
  if (keys.length === 0) throw new InvalidKeyError('key.invalid_public_key', 'KeyAgg needs at least one key');
  const L = taggedHash('KeyAgg list', ...keys);
  // GetSecondKey: the first key that differs from the first one gets coefficient 1.
  const second = keys.find((k) => !equal(k, keys[0]!));
  let Q = Point.ZERO;
  for (const pk of keys) {
    let P: InstanceType<typeof Point>;
    try {
      P = Point.fromBytes(pk);
    } catch (cause) {
      throw new InvalidKeyError('key.invalid_public_key', 'musig() participant is not a valid public key', { cause });
    }
    const a = second !== undefined && equal(pk, second) ? 1n : Fn.create(toScalar(taggedHash('KeyAgg coefficient', L, pk)));
    Q = Q.add(P.multiply(a));
  }
  if (Q.is0()) throw new InvalidKeyError('key.musig_infinity', 'the MuSig2 aggregate key is the point at infinity');
  return Q.toBytes(true);
}

/**
 * BIP-328: the extended public key of an aggregate key (depth 0, no parent, fixed chain code), from
 * which BIP-390 `musig(...)/path` derives unhardened children.
 */
export function musigSyntheticXpub(aggregate33: Uint8Array, versionNetwork: 'main' | 'test' = 'main'): ExtendedPublicKey {
  return Object.freeze({ versionNetwork, depth: 0, parentFingerprint: 0, childNumber: 0, chainCode: CHAIN_CODE.slice(), publicKey: aggregate33.slice() });
}
