/**
 * BIP-341 taproot commitments: leaf and branch hashes and the output-key tweak.
 */
import { InvalidKeyError } from '@mofn/core';
import { taggedHash } from '../hash.ts';
import { secp } from '../secp.ts';

export { TAPSCRIPT_LEAF_VERSION, tapBranchHash, tapLeafHash } from '../tx/script.ts';

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
