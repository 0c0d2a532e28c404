/**
 * BIP-32 extended public keys: parsing (xpub/tpub and the SLIP-132 variants), encoding and
 * public (non-hardened) child derivation — the hot path of address derivation.
 */
import { InvalidKeyError } from '@mofn/core';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hash160 } from '../hash.ts';
import { versionNetworkOf } from '../network.ts';
import { isPrivateKey, secp } from '../secp.ts';
import { HARDENED, type ExtendedPublicKey, type Network } from '../types.ts';
import { decodeBase58Check, encodeBase58Check } from './base58check.ts';
import { addTweakTimesG, addTweaksTimesG, affineOf, type AffinePoint } from './fastTweak.ts';
import { loadNativeDerive, NATIVE_RECOMPUTE, type NativeDerive } from './nativeDerive.ts';

/** The script a SLIP-132 version announces (`legacy` for plain xpub/tpub: no announcement). */
export type Slip132Script = 'legacy' | 'sh-wpkh' | 'wpkh' | 'sh-wsh' | 'wsh';

/** One known extended-key version (BIP-32 and SLIP-132). */
export interface ExtendedKeyVersion {
  /** The four-letter prefix the version produces in base58 (`xpub`, `Zpub`, `vprv`...). */
  readonly prefix: string;
  readonly version: number;
  readonly kind: 'public' | 'private';
  readonly versionNetwork: 'main' | 'test';
  /** What the SLIP-132 version says the key is for (multisig: `sh-wsh` Ypub/Upub, `wsh` Zpub/Vpub). */
  readonly script: Slip132Script;
}

function v(prefix: string, version: number, kind: 'public' | 'private', versionNetwork: 'main' | 'test', script: Slip132Script): ExtendedKeyVersion {
  return Object.freeze({ prefix, version, kind, versionNetwork, script });
}

/** BIP-32 and SLIP-132 extended-key versions (SLIP-0132 "Registered HD version bytes"). */
export const EXTENDED_KEY_VERSIONS: readonly ExtendedKeyVersion[] = Object.freeze([
  v('xpub', 0x0488b21e, 'public', 'main', 'legacy'),
  v('ypub', 0x049d7cb2, 'public', 'main', 'sh-wpkh'),
  v('zpub', 0x04b24746, 'public', 'main', 'wpkh'),
  v('Ypub', 0x0295b43f, 'public', 'main', 'sh-wsh'),
  v('Zpub', 0x02aa7ed3, 'public', 'main', 'wsh'),
  v('tpub', 0x043587cf, 'public', 'test', 'legacy'),
  v('upub', 0x044a5262, 'public', 'test', 'sh-wpkh'),
  v('vpub', 0x045f1cf6, 'public', 'test', 'wpkh'),
  v('Upub', 0x024289ef, 'public', 'test', 'sh-wsh'),
  v('Vpub', 0x02575483, 'public', 'test', 'wsh'),
  v('xprv', 0x0488ade4, 'private', 'main', 'legacy'),
  v('yprv', 0x049d7878, 'private', 'main', 'sh-wpkh'),
  v('zprv', 0x04b2430c, 'private', 'main', 'wpkh'),
  v('Yprv', 0x0295b005, 'private', 'main', 'sh-wsh'),
  v('Zprv', 0x02aa7a99, 'private', 'main', 'wsh'),
  v('tprv', 0x04358394, 'private', 'test', 'legacy'),
  v('uprv', 0x044a4e28, 'private', 'test', 'sh-wpkh'),
  v('vprv', 0x045f18bc, 'private', 'test', 'wpkh'),
  v('Uprv', 0x024285b5, 'private', 'test', 'sh-wsh'),
  v('Vprv', 0x02575048, 'private', 'test', 'wsh'),
]);

const VERSION_BY_NUMBER = new Map<number, ExtendedKeyVersion>(EXTENDED_KEY_VERSIONS.map((x) => [x.version, x]));

/** Serialized extended key length without checksum (BIP-32 "Serialization format"). */
const EXTENDED_KEY_LENGTH = 78;
const PRIVATE_KEY_HINT = 'export the xpub (the extended public key) from the device or wallet, never the private key';

/** The fields of a decoded extended key, before deciding whether a private key is acceptable. */
export interface DecodedExtendedKey {
  readonly version: ExtendedKeyVersion;
  readonly depth: number;
  readonly parentFingerprint: number;
  readonly childNumber: number;
  readonly chainCode: Uint8Array;
  /** 33 bytes: a compressed public key, or 0x00 || 32-byte private key. */
  readonly keyData: Uint8Array;
}

/** A shortened, safe-to-print form of a key string (never the whole thing: it may be private). */
function preview(text: string): string {
  return text.length <= 8 ? text : `${text.slice(0, 4)}…`;
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, o: number, n: number): void {
  b[o] = n >>> 24;
  b[o + 1] = (n >>> 16) & 0xff;
  b[o + 2] = (n >>> 8) & 0xff;
  b[o + 3] = n & 0xff;
}

function invalid(text: string, reason: string, details: Record<string, unknown> = {}): InvalidKeyError {
  return new InvalidKeyError('key.invalid', `invalid extended key '${preview(text)}': ${reason}`, {
    details: { ...details, reason },
  });
}

/**
 * Decodes and structurally validates any BIP-32/SLIP-132 extended key (public or private),
 * applying BIP-32's validity rules (test vector 5): known version, key data matching the
 * version kind, a valid point or a private key in 1..n-1, and depth 0 only with zero parent
 * fingerprint and child number.
 * @throws InvalidKeyError `key.bad_checksum` or `key.invalid`
 */
export function decodeExtendedKey(text: string): DecodedExtendedKey {
  if (typeof text !== 'string') throw invalid(String(text), 'not a string');
  const decoded = decodeBase58Check(text.trim());
  if (!decoded.ok) {
    if (decoded.reason === 'checksum') {
      throw new InvalidKeyError('key.bad_checksum', `extended key '${preview(text)}' has a bad checksum (mistyped or truncated?)`, {
        hint: 'copy the key again from its source; a single changed character breaks the checksum',
      });
    }
    throw invalid(text, decoded.reason === 'too_long' ? 'too long' : 'not base58');
  }
  const raw = decoded.payload;
  if (raw.length !== EXTENDED_KEY_LENGTH) {
    throw invalid(text, `decodes to ${String(raw.length)} bytes, expected ${String(EXTENDED_KEY_LENGTH)}`, { length: raw.length });
  }
  const versionNumber = readU32(raw, 0);
  const version = VERSION_BY_NUMBER.get(versionNumber);
  if (version === undefined) {
    throw invalid(text, `unknown extended key version 0x${versionNumber.toString(16).padStart(8, '0')}`);
  }
  const depth = raw[4]!;
  const parentFingerprint = readU32(raw, 5);
  const childNumber = readU32(raw, 9);
  if (depth === 0 && parentFingerprint !== 0) throw invalid(text, 'zero depth with non-zero parent fingerprint');
  if (depth === 0 && childNumber !== 0) throw invalid(text, 'zero depth with non-zero child number');
  const keyData = raw.slice(45, 78);
  if (version.kind === 'public') {
    if (keyData[0] === 0x00) throw invalid(text, 'public key version with private key data');
    if (keyData[0] !== 0x02 && keyData[0] !== 0x03) throw invalid(text, `invalid public key prefix 0x${keyData[0]!.toString(16).padStart(2, '0')}`);
    if (!secp.isPoint(keyData)) throw invalid(text, 'public key is not a point on secp256k1');
  } else {
    if (keyData[0] !== 0x00) throw invalid(text, 'private key version with public key data');
    // BIP-32: ser256(k) must be in 1..n-1.
    if (!isPrivateKey(keyData.subarray(1))) throw invalid(text, 'private key not in 1..n-1');
  }
  return Object.freeze({ version, depth, parentFingerprint, childNumber, chainCode: raw.slice(13, 45), keyData });
}

/**
 * Parses an extended public key: xpub/tpub or a SLIP-132 variant (ypub, zpub, Ypub, Zpub, upub,
 * vpub, Upub, Vpub), normalised to plain BIP-32 fields (the SLIP-132 script hint is dropped; see
 * {@link findExtendedKeyVersion} to read it).
 * @param text - the base58check string (surrounding whitespace ignored)
 * @param expected - if given, the key's version family must match this network (tpub for test/signet/regtest)
 * @throws InvalidKeyError `key.private_key` (an xprv/tprv/... given: hint says to export the xpub),
 *   `key.wrong_network`, `key.bad_checksum`, `key.invalid`
 * @example parseExtendedPublicKey('tpubD6NzVbkrYhZ4...', 'test')
 */
export function parseExtendedPublicKey(text: string, expected?: Network): ExtendedPublicKey {
  const d = decodeExtendedKey(text);
  if (d.version.kind === 'private') {
    throw new InvalidKeyError('key.private_key', `'${d.version.prefix}…' is an extended PRIVATE key; mofn only takes public keys here`, {
      details: { prefix: d.version.prefix },
      hint: PRIVATE_KEY_HINT,
    });
  }
  if (expected !== undefined && versionNetworkOf(expected) !== d.version.versionNetwork) {
    throw new InvalidKeyError(
      'key.wrong_network',
      `extended key '${preview(text)}' is a ${d.version.versionNetwork === 'main' ? 'mainnet' : 'testnet'} key (${d.version.prefix}), the wallet is on ${expected}`,
      { details: { prefix: d.version.prefix, keyNetwork: d.version.versionNetwork, expected } },
    );
  }
  return Object.freeze({
    versionNetwork: d.version.versionNetwork,
    depth: d.depth,
    parentFingerprint: d.parentFingerprint,
    childNumber: d.childNumber,
    chainCode: d.chainCode,
    publicKey: d.keyData,
  });
}

/** True if `text` parses as an extended public key on any network (xpub/tpub/SLIP-132). Never throws. */
export function isExtendedPublicKey(text: string): boolean {
  try {
    parseExtendedPublicKey(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The BIP-32/SLIP-132 version a string's base58 payload announces, without validating the rest.
 * Useful to read what a Zpub/Ypub says about the script. Never throws.
 * @returns the version entry, or undefined if the string is not base58check with a known version
 */
export function findExtendedKeyVersion(text: string): ExtendedKeyVersion | undefined {
  if (typeof text !== 'string') return undefined;
  const decoded = decodeBase58Check(text.trim());
  if (!decoded.ok || decoded.payload.length !== EXTENDED_KEY_LENGTH) return undefined;
  return VERSION_BY_NUMBER.get(readU32(decoded.payload, 0));
}

/** Serialises the 78-byte BIP-32 structure. */
export function serializeExtendedKey(
  version: number,
  depth: number,
  parentFingerprint: number,
  childNumber: number,
  chainCode: Uint8Array,
  keyData: Uint8Array,
): string {
  const out = new Uint8Array(EXTENDED_KEY_LENGTH);
  writeU32(out, 0, version);
  out[4] = depth;
  writeU32(out, 5, parentFingerprint);
  writeU32(out, 9, childNumber);
  out.set(chainCode, 13);
  out.set(keyData, 45);
  return encodeBase58Check(out);
}

function assertEncodable(key: { depth: number; parentFingerprint: number; childNumber: number; chainCode: Uint8Array }): void {
  if (!Number.isInteger(key.depth) || key.depth < 0 || key.depth > 255) {
    throw new InvalidKeyError('key.invalid', `extended key depth ${String(key.depth)} is outside 0..255`);
  }
  for (const [name, n] of [['parentFingerprint', key.parentFingerprint], ['childNumber', key.childNumber]] as const) {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw new InvalidKeyError('key.invalid', `extended key ${name} ${String(n)} is not a 32-bit unsigned integer`);
    }
  }
  if (!(key.chainCode instanceof Uint8Array) || key.chainCode.length !== 32) {
    throw new InvalidKeyError('key.invalid', 'chain code must be 32 bytes');
  }
}

/**
 * Encodes an extended public key as xpub (main) or tpub (test, signet, regtest). The version is
 * chosen by `network` alone: SLIP-132 prefixes are never produced.
 * @throws InvalidKeyError `key.invalid` if a field is out of range
 */
export function encodeExtendedPublicKey(key: ExtendedPublicKey, network: Network): string {
  assertEncodable(key);
  if (!(key.publicKey instanceof Uint8Array) || key.publicKey.length !== 33) {
    throw new InvalidKeyError('key.invalid', 'public key must be 33 bytes (compressed)');
  }
  const version = network === 'main' ? 0x0488b21e : 0x043587cf;
  return serializeExtendedKey(version, key.depth, key.parentFingerprint, key.childNumber, key.chainCode, key.publicKey);
}

/**
 * BIP-32 key fingerprint: the first 4 bytes of HASH160(pubkey) as 8 lower-case hex characters.
 * @param publicKey - 33-byte compressed public key
 */
export function fingerprintOf(publicKey: Uint8Array): string {
  const h = hash160(publicKey);
  return readU32(h, 0).toString(16).padStart(8, '0');
}

/** The same fingerprint as an unsigned 32-bit number (the form stored in `parentFingerprint`). */
export function fingerprintNumberOf(publicKey: Uint8Array): number {
  return readU32(hash160(publicKey), 0);
}

type Hmac = ReturnType<typeof hmac.create>;

/** Children computed ahead of time for a run of consecutive indexes. */
interface Prefetched {
  readonly start: number;
  /** Per index: the child key, or null if BIP-32 declares that child invalid. */
  readonly keys: readonly (Uint8Array | null)[];
  readonly chainCodes: readonly Uint8Array[];
}

/** Children computed ahead of time by the native addon, in its packed output form (see NativeDerive.derive). */
interface NativeBatch {
  readonly start: number;
  readonly count: number;
  readonly keys: Uint8Array;
  readonly chainCodes: Uint8Array;
}

/**
 * Per-parent state reused across children: the keyed HMAC-SHA512 (its ipad/opad blocks are
 * hashed once instead of once per child), the parent's fingerprint and decompressed point, the
 * last child returned (so re-deriving a branch node is free) and children prefetched for
 * sequential access. Entries keep copies of the parent's chain code and key and are used only
 * while they still match, so a caller that mutates a key's bytes in place cannot get a stale result.
 */
interface ParentState {
  readonly chainCode: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly mac: Hmac;
  readonly fingerprint: number;
  /**
   * The parent key decompressed once: as BigInts for the table path (fastTweak.ts), or as 65 bytes
   * for the native libsecp256k1 path (an uncompressed key spares the addon a square root per child).
   */
  readonly point: AffinePoint | undefined;
  readonly uncompressed: Uint8Array | undefined;
  /** The native CKDpub addon and this parent's prepared state for it, when the addon is in use. */
  readonly native: { readonly lib: NativeDerive; readonly state: Uint8Array } | undefined;
  lastIndex: number;
  lastChild: ExtendedPublicKey | undefined;
  prefetched: Prefetched | undefined;
  nativeBatch: NativeBatch | undefined;
  nextBatch: number;
}
const parentStates = new WeakMap<ExtendedPublicKey, ParentState>();

/** Batch sizes for sequential access: start small (gap-limit scans), grow to where batching stops paying. */
const FIRST_BATCH = 8;
const MAX_BATCH = 64;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Which primitive computes `K_par + I_L*G`. Measured on the 2-core Node 20 box (µs per child,
 * HMAC included): mofn's own CKDpub addon (nativeDerive.ts) ~9 in sequential batches, ~14 one at
 * a time; native libsecp256k1 `ec_pubkey_tweak_add` from an uncompressed parent ~28;
 * fastTweak.ts's comb ~37 in sequential batches, ~75 one at a time; libsecp256k1 in WASM ~140.
 * So mofn's addon when it is built and passes its self-test, else libsecp256k1's native addon
 * when it is loaded, else the comb.
 */
const NATIVE_TWEAK = secp.name === 'secp256k1-native';

function uncompressedOf(pub33: Uint8Array): Uint8Array {
  return secp256k1.Point.fromBytes(pub33).toBytes(false);
}

function parentStateOf(key: ExtendedPublicKey): ParentState {
  const cached = parentStates.get(key);
  if (cached !== undefined && sameBytes(cached.chainCode, key.chainCode) && sameBytes(cached.publicKey, key.publicKey)) {
    return cached;
  }
  if (!(key.chainCode instanceof Uint8Array) || key.chainCode.length !== 32) {
    throw new InvalidKeyError('key.invalid', 'chain code must be 32 bytes');
  }
  if (!(key.publicKey instanceof Uint8Array) || key.publicKey.length !== 33 || !secp.isPoint(key.publicKey)) {
    throw new InvalidKeyError('key.invalid', 'public key must be a 33-byte compressed secp256k1 point');
  }
  const lib = loadNativeDerive();
  const nativeState = lib?.prepare(key.publicKey, key.chainCode);
  const native = lib !== undefined && nativeState !== undefined ? { lib, state: nativeState } : undefined;
  const state: ParentState = {
    chainCode: key.chainCode.slice(),
    publicKey: key.publicKey.slice(),
    mac: hmac.create(sha512, key.chainCode),
    fingerprint: fingerprintNumberOf(key.publicKey),
    point: native !== undefined || NATIVE_TWEAK ? undefined : affineOf(key.publicKey),
    uncompressed: native === undefined && NATIVE_TWEAK ? uncompressedOf(key.publicKey) : undefined,
    native,
    lastIndex: -2,
    lastChild: undefined,
    prefetched: undefined,
    nativeBatch: undefined,
    nextBatch: FIRST_BATCH,
  };
  parentStates.set(key, state);
  return state;
}

// Scratch buffers: serP(K) || ser32(i), a reusable keyed-HMAC instance and its 64-byte output.
// All are consumed synchronously within one call, so one set suffices.
const childData = new Uint8Array(37);
const childDigest = new Uint8Array(64);
let scratchMac: Hmac | undefined;

/** I = HMAC-SHA512(c_par, serP(K_par) || ser32(i)) into `childDigest`, cloning the pre-keyed state without allocating. */
function childHmac(state: ParentState, index: number): void {
  childData.set(state.publicKey, 0);
  writeU32(childData, 33, index);
  const mac = state.mac._cloneInto(scratchMac) as Hmac;
  scratchMac = mac;
  mac.update(childData);
  mac.digestInto(childDigest);
}

// secp256k1 group order n, big-endian, for BIP-32's "parse256(I_L) >= n" test.
const ORDER = new Uint8Array([
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
  0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);
function belowOrder(b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) {
    const x = b[i]!;
    const y = ORDER[i]!;
    if (x !== y) return x < y;
  }
  return false;
}

/** K_i = K_par + I_L*G; null when BIP-32 says the child is invalid. */
function finishChild(state: ParentState, IL: Uint8Array, fast: Uint8Array | null | undefined): Uint8Array | null {
  // undefined: the fast path's on-curve self-check failed; recompute with libsecp256k1.
  return fast === undefined ? secp.pointAddScalar(state.publicKey, IL) : fast;
}

/** Computes children [start, start + count) in one batch (see addTweaksTimesG). */
function prefetch(state: ParentState, start: number, count: number): Prefetched {
  const tweaks: Uint8Array[] = [];
  const tweakOf: number[] = [];
  const chainCodes: Uint8Array[] = [];
  const keys: (Uint8Array | null)[] = [];
  for (let k = 0; k < count; k++) {
    childHmac(state, start + k);
    chainCodes.push(childDigest.slice(32, 64));
    keys.push(null);
    const IL = childDigest.slice(0, 32);
    if (belowOrder(IL)) {
      tweakOf.push(k);
      tweaks.push(IL);
    }
  }
  const points = addTweaksTimesG(state.point!, tweaks);
  for (let t = 0; t < tweaks.length; t++) keys[tweakOf[t]!] = finishChild(state, tweaks[t]!, points[t]);
  return { start, keys, chainCodes };
}

/**
 * Child `index` through the native addon: from the current batch if it holds it, else from a new
 * batch when access is sequential, else alone. Returns a fresh key array (null for a child BIP-32
 * calls invalid) and a fresh chain code.
 */
function nativeChild(state: ParentState, native: NonNullable<ParentState['native']>, index: number, sequential: boolean): { key: Uint8Array | null; chainCode: Uint8Array } {
  let batch = state.nativeBatch;
  if (batch === undefined || index < batch.start || index >= batch.start + batch.count) {
    const count = sequential ? Math.min(state.nextBatch, HARDENED - index) : 1;
    batch = { start: index, count, keys: new Uint8Array(33 * count), chainCodes: new Uint8Array(32 * count) };
    native.lib.derive(native.state, index, count, batch.keys, batch.chainCodes);
    if (sequential) {
      state.nativeBatch = batch;
      state.nextBatch = Math.min(MAX_BATCH, state.nextBatch * 2);
    }
  }
  const k = index - batch.start;
  const chainCode = batch.chainCodes.slice(32 * k, 32 * k + 32);
  const tag = batch.keys[33 * k];
  if (tag === 0x00) return { key: null, chainCode };
  if (tag === NATIVE_RECOMPUTE) {
    // The addon's on-curve self-check failed: trust only the reference backend for this child.
    childHmac(state, index);
    return { key: secp.pointAddScalar(state.publicKey, childDigest.subarray(0, 32)), chainCode };
  }
  return { key: batch.keys.slice(33 * k, 33 * k + 33), chainCode };
}

/**
 * BIP-32 CKDpub: the non-hardened child `index` of an extended public key.
 *
 * Fast: the per-parent HMAC key, fingerprint and point are cached, `I_L*G` uses a precomputed
 * comb (the native addon of nativeDerive.ts when built, else fastTweak.ts), and when a parent's children are requested in order (address
 * derivation, gap-limit scans) the following ones are computed ahead in batches sharing their
 * field inversions. Results never depend on the access pattern; returned keys are frozen.
 * @param key - the parent
 * @param index - 0 .. 2^31-1
 * @throws InvalidKeyError `key.hardened_from_public` for a hardened index, `key.invalid_index` for a
 *   non-integer/out-of-range index, `key.invalid_child` in the ~2^-127 case BIP-32 calls invalid
 *   (I_L >= n or the point at infinity; mofn never silently skips an index), `key.invalid` if the
 *   depth would exceed 255 or the parent is malformed
 */
export function deriveChildPublic(key: ExtendedPublicKey, index: number): ExtendedPublicKey {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new InvalidKeyError('key.invalid_index', `child index ${String(index)} is not an integer in 0..2^32-1`);
  }
  if (index >= HARDENED) {
    throw new InvalidKeyError('key.hardened_from_public', `cannot derive hardened child ${String(index - HARDENED)}' from a public key`, {
      hint: 'derive hardened steps on the device and export the xpub at the account level',
    });
  }
  if (!Number.isInteger(key.depth) || key.depth < 0 || key.depth >= 255) {
    throw new InvalidKeyError('key.invalid', `cannot derive a child of a key at depth ${String(key.depth)}`);
  }
  const state = parentStateOf(key);
  const last = state.lastChild;
  if (last !== undefined && last.childNumber === index && last.versionNetwork === key.versionNetwork && last.depth === key.depth + 1) {
    return last;
  }
  const sequential = index === state.lastIndex + 1;
  state.lastIndex = index;

  let childKey: Uint8Array | null;
  let chainCode: Uint8Array;
  // Whether childKey is a fresh array nobody else holds (else it is copied into the result).
  let fresh = false;
  if (state.native !== undefined) {
    ({ key: childKey, chainCode } = nativeChild(state, state.native, index, sequential));
    fresh = true;
  } else if (state.uncompressed !== undefined) {
    // Native path: one libsecp256k1 call per child; batching would not share any work.
    childHmac(state, index);
    const IL = childDigest.subarray(0, 32);
    childKey = belowOrder(IL) ? secp.pointAddScalar(state.uncompressed, IL) : null;
    chainCode = childDigest.slice(32, 64);
    fresh = true; // pointAddScalar returns a new array on every call
  } else {
    let batch = state.prefetched;
    if ((batch === undefined || index < batch.start || index >= batch.start + batch.keys.length) && sequential) {
      const count = Math.min(state.nextBatch, HARDENED - index);
      batch = prefetch(state, index, count);
      state.prefetched = batch;
      state.nextBatch = Math.min(MAX_BATCH, state.nextBatch * 2);
    }
    if (batch !== undefined && index >= batch.start && index < batch.start + batch.keys.length) {
      childKey = batch.keys[index - batch.start]!;
      chainCode = batch.chainCodes[index - batch.start]!.slice();
    } else {
      childHmac(state, index);
      const IL = childDigest.subarray(0, 32);
      childKey = belowOrder(IL) ? finishChild(state, IL, addTweakTimesG(state.point!, IL)) : null;
      chainCode = childDigest.slice(32, 64);
    }
  }
  if (childKey === null) {
    throw new InvalidKeyError('key.invalid_child', `child ${String(index)} is invalid under BIP-32 (I_L >= n or infinity); use another index`);
  }
  const child: ExtendedPublicKey = Object.freeze({
    versionNetwork: key.versionNetwork,
    depth: key.depth + 1,
    parentFingerprint: state.fingerprint,
    childNumber: index,
    chainCode,
    publicKey: fresh ? childKey : childKey.slice(),
  });
  state.lastChild = child;
  return child;
}

/**
 * Derives a non-hardened path from an extended public key.
 * @param path - child indexes in order (all < 2^31)
 * @throws InvalidKeyError as {@link deriveChildPublic}
 */
export function derivePublicPath(key: ExtendedPublicKey, path: readonly number[]): ExtendedPublicKey {
  let k = key;
  for (const i of path) k = deriveChildPublic(k, i);
  return k;
}
