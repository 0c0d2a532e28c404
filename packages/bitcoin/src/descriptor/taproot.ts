/**
 * BIP-341 taproot commitments: leaf and branch hashes and the output-key tweak.
 */
import { InvalidKeyError } from '@mofn/core';
import { taggedHash } from '../hash.ts';
import { secp } from '../secp.ts';

/** BIP-342 tapscript leaf version. */
export const TAPSCRIPT_LEAF_VERSION = 0xc0;

/**
 * BIP-341 "H" point, `lift_x(SHA256(G uncompressed))`: an x-only key with no known discrete
 * logarithm, used as the internal key of a taproot output that must only be spent by its script
 * path (BIP-341, "Constructing and spending Taproot outputs", footnote on unspendable keys).
 */
export const NUMS_INTERNAL_KEY: Uint8Array = Uint8Array.from(
  '50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0'.match(/../g)!.map((h) => parseInt(h, 16)),
);
// Typed arrays cannot be frozen: mofn computes with its own copy so that a caller writing into
// the exported array cannot change the addresses of every taproot wallet.
const NUMS = NUMS_INTERNAL_KEY.slice();

/** A fresh copy of the NUMS internal key (32 bytes, x-only). */
export function numsInternalKey(): Uint8Array {
  return NUMS.slice();
}

/** True if `key` is the 32-byte NUMS x-only key. Never throws. */
export function isNumsInternalKey(key: Uint8Array): boolean {
  if (!(key instanceof Uint8Array) || key.length !== 32) return false;
  for (let i = 0; i < 32; i++) if (key[i] !== NUMS[i]) return false;
  return true;
}

function compactSize(n: number): Uint8Array {
  if (n < 0xfd) return Uint8Array.of(n);
  if (n <= 0xffff) return Uint8Array.of(0xfd, n & 0xff, n >>> 8);
  return Uint8Array.of(0xfe, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
}

/** `hash_TapLeaf(leafVersion || compact_size(len) || script)` (BIP-341). */
export function tapLeafHash(script: Uint8Array, leafVersion: number = TAPSCRIPT_LEAF_VERSION): Uint8Array {
  return taggedHash('TapLeaf', Uint8Array.of(leafVersion), compactSize(script.length), script);
}

/** `hash_TapBranch(min(a,b) || max(a,b))` (BIP-341: children are sorted so proofs need no direction bits). */
export function tapBranchHash(a: Uint8Array, b: Uint8Array): Uint8Array {
  for (let i = 0; i < 32; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? taggedHash('TapBranch', a, b) : taggedHash('TapBranch', b, a);
  }
  return taggedHash('TapBranch', a, b);
}

/**
 * Tweaks an x-only internal key: `Q = P + hash_TapTweak(P || merkleRoot)·G` (BIP-341
 * taproot_tweak_pubkey). Without a script tree the tweak commits to `P` alone (BIP-86 / BIP-386).
 * @returns the x-only output key and the parity of Q (the low bit of a control block's first byte)
 * @throws InvalidKeyError `key.invalid_public_key` if `internalKey` is not on the curve or the tweak fails
 */
export function taprootTweak(internalKey: Uint8Array, merkleRoot?: Uint8Array): { outputKey: Uint8Array; parity: 0 | 1 } {
  const t = merkleRoot === undefined ? taggedHash('TapTweak', internalKey) : taggedHash('TapTweak', internalKey, merkleRoot);
  const r = secp.xOnlyPointAddTweak(internalKey, t);
  if (r === null) {
    // Probability ~2^-128 (BIP-341): the tweak is >= n or the sum is infinity.
    throw new InvalidKeyError('key.invalid_public_key', 'taproot tweak produced an invalid key');
  }
  return { outputKey: r.xOnly, parity: r.parity };
}
