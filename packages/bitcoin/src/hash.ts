/**
 * Bitcoin hash functions on top of @noble/hashes (audited, constant-allocation).
 * These are the only hashing entry points the rest of @mofn/bitcoin uses.
 */
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/**
 * Single SHA-256.
 * @param data - bytes to hash (not modified)
 * @returns 32-byte digest
 */
export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/**
 * Double SHA-256 (`SHA256(SHA256(x))`): txids, sighashes, base58check checksums.
 * @param data - bytes to hash
 * @returns 32-byte digest
 */
export function hash256(data: Uint8Array): Uint8Array {
  return nobleSha256(nobleSha256(data));
}

/**
 * `RIPEMD160(SHA256(x))`: P2PKH/P2SH/P2WPKH programs and BIP-32 key identifiers.
 * @param data - bytes to hash
 * @returns 20-byte digest
 */
export function hash160(data: Uint8Array): Uint8Array {
  return ripemd160(nobleSha256(data));
}

// BIP-340 tagged hashes prefix every message with SHA256(tag) || SHA256(tag); the 64-byte
// prefix depends only on the tag, so we hash it once per tag and clone the midstate.
type Sha256State = ReturnType<typeof nobleSha256.create>;
const taggedPrefixes = new Map<string, Sha256State>();
const textEncoder = new TextEncoder();

function taggedState(tag: string): Sha256State {
  let state = taggedPrefixes.get(tag);
  if (state === undefined) {
    const tagHash = nobleSha256(textEncoder.encode(tag));
    state = nobleSha256.create().update(tagHash).update(tagHash);
    taggedPrefixes.set(tag, state);
  }
  return state;
}

/**
 * BIP-340 tagged hash: `SHA256(SHA256(tag) || SHA256(tag) || msg_1 || ... || msg_n)`.
 * The tag prefix midstate is cached per tag.
 * @param tag - the tag, e.g. `TapLeaf`, `TapTweak`, `BIP0340/challenge`
 * @param messages - byte strings hashed in order after the prefix
 * @returns 32-byte digest
 * @example taggedHash('TapLeaf', new Uint8Array([0xc0]), script)
 */
export function taggedHash(tag: string, ...messages: Uint8Array[]): Uint8Array {
  const h = taggedState(tag).clone();
  for (const m of messages) h.update(m);
  return h.digest();
}
