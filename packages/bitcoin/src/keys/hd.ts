/**
 * BIP-32 HD private keys for software signing: master node from a seed, private child
 * derivation (hardened and not), neutering to an xpub and xprv/tprv serialisation.
 * Never used by the coordinator itself, only by a cosigner's own keystore/signer.
 */
import { InvalidKeyError } from '@mofn/core';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { versionNetworkOf } from '../network.ts';
import { isPrivateKey, secp } from '../secp.ts';
import { HARDENED, type ExtendedPublicKey, type Network } from '../types.ts';
import { decodeExtendedKey, fingerprintNumberOf, fingerprintOf, serializeExtendedKey } from './extendedKey.ts';

/** A BIP-32 node holding a private key. */
export interface HDPrivateNode {
  readonly depth: number;
  /** Parent fingerprint as an unsigned 32-bit number (0 for a master node). */
  readonly parentFingerprint: number;
  /** Child number (hardened bit included; 0 for a master node). */
  readonly childNumber: number;
  readonly chainCode: Uint8Array;
  /** 32-byte private key in 1..n-1. */
  readonly privateKey: Uint8Array;
  /** 33-byte compressed public key of `privateKey`. */
  readonly publicKey: Uint8Array;
}

const MASTER_KEY = new TextEncoder().encode('Bitcoin seed');

function nodeOf(I: Uint8Array, depth: number, parentFingerprint: number, childNumber: number, privateKey: Uint8Array): HDPrivateNode {
  return Object.freeze({
    depth,
    parentFingerprint,
    childNumber,
    chainCode: I.slice(32, 64),
    privateKey,
    publicKey: secp.publicKey(privateKey),
  });
}

/**
 * BIP-32 master key generation: `I = HMAC-SHA512("Bitcoin seed", seed)`.
 * @param seed - 16 to 64 bytes (BIP-32: 128 to 512 bits), e.g. a BIP-39 seed
 * @throws InvalidKeyError `key.invalid_seed` for a bad length or (p ~ 2^-127) an invalid master key
 */
export function hdNodeFromSeed(seed: Uint8Array): HDPrivateNode {
  if (!(seed instanceof Uint8Array) || seed.length < 16 || seed.length > 64) {
    throw new InvalidKeyError('key.invalid_seed', `seed must be 16 to 64 bytes, got ${seed instanceof Uint8Array ? String(seed.length) : typeof seed}`);
  }
  const I = hmac(sha512, MASTER_KEY, seed);
  const IL = I.slice(0, 32);
  if (!isPrivateKey(IL)) throw new InvalidKeyError('key.invalid_seed', 'seed yields an invalid master key (BIP-32); use another seed');
  return nodeOf(I, 0, 0, 0, IL);
}

// Scratch for the HMAC message: 0x00 || ser256(k) || ser32(i) or serP(K) || ser32(i).
const data = new Uint8Array(37);

/**
 * BIP-32 CKDpriv: child `index` (hardened when >= 2^31) of a private node. Nothing is memoised:
 * callers that walk many paths cache the account or branch node themselves, and no copy of private
 * key material outlives the nodes the caller holds (and may zero).
 * @throws InvalidKeyError `key.invalid_index`, `key.invalid` (depth 255), `key.invalid_child`
 *   (I_L >= n or a zero key: BIP-32 says use the next index; mofn does not skip silently)
 */
export function deriveChildPrivate(node: HDPrivateNode, index: number): HDPrivateNode {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new InvalidKeyError('key.invalid_index', `child index ${String(index)} is not an integer in 0..2^32-1`);
  }
  if (node.depth >= 255) throw new InvalidKeyError('key.invalid', 'cannot derive below depth 255');
  if (index >= HARDENED) {
    data[0] = 0;
    data.set(node.privateKey, 1);
  } else {
    data.set(node.publicKey, 0);
  }
  data[33] = index >>> 24;
  data[34] = (index >>> 16) & 0xff;
  data[35] = (index >>> 8) & 0xff;
  data[36] = index & 0xff;
  const I = hmac(sha512, node.chainCode, data);
  data.fill(0);
  const child = secp.privateAdd(node.privateKey, I.subarray(0, 32));
  if (child === null) {
    throw new InvalidKeyError('key.invalid_child', `child ${String(index)} is invalid under BIP-32 (I_L >= n or zero key); use another index`);
  }
  const result = nodeOf(I, node.depth + 1, fingerprintNumberOf(node.publicKey), index, child);
  I.fill(0);
  return result;
}

/**
 * Derives a path of child numbers from a private node.
 * @throws InvalidKeyError as {@link deriveChildPrivate}
 */
export function derivePrivatePath(node: HDPrivateNode, path: readonly number[]): HDPrivateNode {
  let n = node;
  for (const i of path) n = deriveChildPrivate(n, i);
  return n;
}

/**
 * The extended public key of a private node (BIP-32 N()).
 * @param network - sets `versionNetwork` (default `main`); only matters when the key is later
 *   printed, since {@link encodeExtendedPublicKey} picks the version from its own argument
 */
export function neuterNode(node: HDPrivateNode, network: Network = 'main'): ExtendedPublicKey {
  return Object.freeze({
    versionNetwork: versionNetworkOf(network),
    depth: node.depth,
    parentFingerprint: node.parentFingerprint,
    childNumber: node.childNumber,
    chainCode: node.chainCode.slice(),
    publicKey: node.publicKey.slice(),
  });
}

/** The fingerprint (8 lower-case hex chars) of a node's public key; for a master node, the master fingerprint. */
export function masterFingerprint(node: HDPrivateNode): string {
  return fingerprintOf(node.publicKey);
}

/**
 * Parses an extended private key: xprv/tprv or a SLIP-132 variant (yprv, zprv, Yprv, Zprv, uprv,
 * vprv, Uprv, Vprv).
 * @throws InvalidKeyError `key.expected_private` (a public key was given), `key.bad_checksum`, `key.invalid`
 */
export function parseExtendedPrivateKey(text: string): { node: HDPrivateNode; versionNetwork: 'main' | 'test' } {
  const d = decodeExtendedKey(text);
  if (d.version.kind !== 'private') {
    throw new InvalidKeyError('key.expected_private', `'${d.version.prefix}…' is an extended public key; a private key (xprv/tprv) is needed here`, {
      details: { prefix: d.version.prefix },
    });
  }
  const privateKey = d.keyData.slice(1);
  const node: HDPrivateNode = Object.freeze({
    depth: d.depth,
    parentFingerprint: d.parentFingerprint,
    childNumber: d.childNumber,
    chainCode: d.chainCode,
    privateKey,
    publicKey: secp.publicKey(privateKey),
  });
  return { node, versionNetwork: d.version.versionNetwork };
}

/**
 * Serialises a private node as xprv (main) or tprv (test, signet, regtest).
 * @throws InvalidKeyError `key.invalid` if a field is out of range
 */
export function encodeExtendedPrivateKey(node: HDPrivateNode, network: Network): string {
  if (!Number.isInteger(node.depth) || node.depth < 0 || node.depth > 255) {
    throw new InvalidKeyError('key.invalid', `depth ${String(node.depth)} is outside 0..255`);
  }
  if (!(node.chainCode instanceof Uint8Array) || node.chainCode.length !== 32) throw new InvalidKeyError('key.invalid', 'chain code must be 32 bytes');
  if (!isPrivateKey(node.privateKey)) throw new InvalidKeyError('key.invalid_private_key', 'private key must be 32 bytes in 1..n-1');
  for (const n of [node.parentFingerprint, node.childNumber]) {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidKeyError('key.invalid', `${String(n)} is not a 32-bit unsigned integer`);
  }
  const keyData = new Uint8Array(33);
  keyData.set(node.privateKey, 1);
  const version = versionNetworkOf(network) === 'main' ? 0x0488ade4 : 0x04358394;
  return serializeExtendedKey(version, node.depth, node.parentFingerprint, node.childNumber, node.chainCode, keyData);
}
