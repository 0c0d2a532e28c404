/**
 * secp256k1 behind one small interface, with three interchangeable backends: libsecp256k1 as a
 * native Node addon (the `secp256k1` npm package v5, prebuilt N-API binaries), libsecp256k1
 * compiled to WebAssembly (tiny-secp256k1 v2) and @noble/curves v2 (pure JS).
 *
 * Every backend is wrapped by the same input validation so that they accept and reject exactly
 * the same inputs (the secp property tests check they agree byte for byte). `secp` is the backend
 * chosen by measurement (see the numbers below).
 *
 * Measured on the 2-core Node 20 box (packages/bitcoin/test/secp.measure.ts: 400 random keys,
 * 1 warm-up + 5 runs, median, µs per operation):
 *
 * | op             | secp256k1 5 (native) | tiny-secp256k1 2.2 (WASM) | @noble/curves 2.4 |
 * |----------------|---------------------:|--------------------------:|------------------:|
 * | pointAddScalar |                   32 |                       137 |               380 |
 * | publicKey      |                   21 |                        79 |               271 |
 * | signEcdsa      |                   32 |                        87 |               316 |
 * | verifyEcdsa    |                   44 |                       183 |               986 |
 * | signSchnorr    |   (WASM: no BIP-340) |                       158 |              1575 |
 *
 * The native addon wins every ECDSA/key operation by 2.7x to 4x, so it is the default where it
 * loads; it has no BIP-340, so its backend delegates Schnorr and x-only tweaks to the WASM build.
 * Where it cannot load (no prebuilt binary for the platform, a browser bundle, or
 * `MOFN_SECP_BACKEND=wasm`) mofn uses tiny-secp256k1 (WASM): `secpBackend` says which and why.
 * noble stays as the independent cross-check in the tests. BIP-32 public derivation picks its
 * own primitive (keys/extendedKey.ts): native tweak-add when loaded, else the fixed-base comb of
 * keys/fastTweak.ts, which beats libsecp256k1-in-WASM there.
 */
import { InvalidInputError, InvalidKeyError } from '@mofn/core';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import * as tiny from 'tiny-secp256k1';

/** The secp256k1 operations mofn needs; every byte string argument is left unmodified. */
export interface Secp256k1 {
  /** Backend name, for reports and benchmarks. */
  readonly name: 'secp256k1-native' | 'tiny-secp256k1' | 'noble';
  /** 33-byte compressed public key of a private key. @throws InvalidKeyError `key.invalid_private_key` */
  publicKey(priv32: Uint8Array): Uint8Array;
  /**
   * `P + tweak*G` compressed; null when the tweak is >= n or the sum is the point at infinity
   * (BIP-32 then skips to the next index). @throws InvalidKeyError `key.invalid_public_key`
   */
  pointAddScalar(pub33: Uint8Array, tweak32: Uint8Array): Uint8Array | null;
  /** `(d + tweak) mod n`; null when the tweak is >= n or the sum is zero. @throws InvalidKeyError `key.invalid_private_key` */
  privateAdd(priv32: Uint8Array, tweak32: Uint8Array): Uint8Array | null;
  /** ECDSA over a 32-byte hash: compact r||s, low-S, RFC 6979 deterministic nonce (as libsecp256k1 and bitcoinjs-lib). */
  signEcdsa(msg32: Uint8Array, priv32: Uint8Array): Uint8Array;
  /** Verifies a compact low-S ECDSA signature (high-S is rejected, BIP-146 LOW_S). Never throws. */
  verifyEcdsa(msg32: Uint8Array, pub33: Uint8Array, sig64: Uint8Array): boolean;
  /**
   * BIP-340 Schnorr signature. `aux32` is the auxiliary randomness; when omitted 32 zero bytes are
   * used (as libsecp256k1 does for a NULL aux), which keeps signatures reproducible. BIP-340 still
   * recommends fresh randomness as side-channel hardening: signers should pass it.
   */
  signSchnorr(msg32: Uint8Array, priv32: Uint8Array, aux32?: Uint8Array): Uint8Array;
  /** BIP-340 verification against an x-only key. Never throws. */
  verifySchnorr(msg32: Uint8Array, xonly32: Uint8Array, sig64: Uint8Array): boolean;
  /** BIP-341 x-only tweak `lift_x(P) + tweak*G`; null when the tweak is >= n or the result is infinity. */
  xOnlyPointAddTweak(xonly32: Uint8Array, tweak32: Uint8Array): { parity: 0 | 1; xOnly: Uint8Array } | null;
  /** `n - d`. @throws InvalidKeyError `key.invalid_private_key` */
  privateNegate(priv32: Uint8Array): Uint8Array;
  /** True for a valid 33-byte compressed or 65-byte uncompressed (0x04) point. Never throws. */
  isPoint(p: Uint8Array): boolean;
}

// Curve order n, big-endian.
const N_BYTES = new Uint8Array([
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
  0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);
const ZERO32 = new Uint8Array(32);

/** True if the 32-byte big-endian value is < n. */
function lessThanN(x: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) {
    const a = x[i]!;
    const b = N_BYTES[i]!;
    if (a !== b) return a < b;
  }
  return false;
}

function isZero32(x: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < 32; i++) acc |= x[i]!;
  return acc === 0;
}

/** True if `d` is a valid private key: 32 bytes, 1 <= d < n. Never throws. */
export function isPrivateKey(d: Uint8Array): boolean {
  return d instanceof Uint8Array && d.length === 32 && !isZero32(d) && lessThanN(d);
}

function assertPrivate(d: Uint8Array): void {
  if (!isPrivateKey(d)) {
    throw new InvalidKeyError('key.invalid_private_key', 'private key must be 32 bytes in the range 1..n-1', {
      details: { length: d instanceof Uint8Array ? d.length : undefined },
    });
  }
}

function assertBytes(value: Uint8Array, length: number, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new InvalidInputError('secp.invalid_input', `${what} must be ${String(length)} bytes`, {
      details: { what, expected: length, actual: value instanceof Uint8Array ? value.length : undefined },
    });
  }
}

/** Cheap structural check shared by both backends: 33 bytes 02/03 or 65 bytes 04 (no hybrid keys). */
function hasPointShape(p: Uint8Array): boolean {
  if (!(p instanceof Uint8Array)) return false;
  if (p.length === 33) return p[0] === 0x02 || p[0] === 0x03;
  if (p.length === 65) return p[0] === 0x04;
  return false;
}

function invalidPublicKey(cause?: unknown): InvalidKeyError {
  return new InvalidKeyError('key.invalid_public_key', 'not a valid secp256k1 public key', cause === undefined ? {} : { cause });
}

/** The raw operations a backend provides; inputs are already validated by {@link wrap}. */
interface Backend {
  readonly name: Secp256k1['name'];
  publicKey(d: Uint8Array): Uint8Array;
  pointAddScalar(p: Uint8Array, t: Uint8Array): Uint8Array | null;
  privateAdd(d: Uint8Array, t: Uint8Array): Uint8Array | null;
  signEcdsa(m: Uint8Array, d: Uint8Array): Uint8Array;
  verifyEcdsa(m: Uint8Array, p: Uint8Array, s: Uint8Array): boolean;
  signSchnorr(m: Uint8Array, d: Uint8Array, aux: Uint8Array): Uint8Array;
  verifySchnorr(m: Uint8Array, x: Uint8Array, s: Uint8Array): boolean;
  xOnlyPointAddTweak(x: Uint8Array, t: Uint8Array): { parity: 0 | 1; xOnly: Uint8Array } | null;
  privateNegate(d: Uint8Array): Uint8Array;
  isPoint(p: Uint8Array): boolean;
}

function wrap(b: Backend): Secp256k1 {
  return Object.freeze({
    name: b.name,
    publicKey(priv32: Uint8Array): Uint8Array {
      assertPrivate(priv32);
      return b.publicKey(priv32);
    },
    pointAddScalar(pub33: Uint8Array, tweak32: Uint8Array): Uint8Array | null {
      assertBytes(tweak32, 32, 'tweak');
      if (!hasPointShape(pub33)) throw invalidPublicKey();
      if (!lessThanN(tweak32)) return null;
      let out: Uint8Array | null;
      try {
        out = b.pointAddScalar(pub33, tweak32);
      } catch (cause) {
        throw invalidPublicKey(cause);
      }
      return out;
    },
    privateAdd(priv32: Uint8Array, tweak32: Uint8Array): Uint8Array | null {
      assertPrivate(priv32);
      assertBytes(tweak32, 32, 'tweak');
      if (!lessThanN(tweak32)) return null;
      return b.privateAdd(priv32, tweak32);
    },
    signEcdsa(msg32: Uint8Array, priv32: Uint8Array): Uint8Array {
      assertBytes(msg32, 32, 'message hash');
      assertPrivate(priv32);
      return b.signEcdsa(msg32, priv32);
    },
    verifyEcdsa(msg32: Uint8Array, pub33: Uint8Array, sig64: Uint8Array): boolean {
      if (!(msg32 instanceof Uint8Array) || msg32.length !== 32) return false;
      if (!(sig64 instanceof Uint8Array) || sig64.length !== 64 || !hasPointShape(pub33)) return false;
      const r = sig64.subarray(0, 32);
      const s = sig64.subarray(32, 64);
      if (isZero32(r) || isZero32(s) || !lessThanN(r) || !lessThanN(s)) return false;
      try {
        return b.verifyEcdsa(msg32, pub33, sig64);
      } catch {
        return false;
      }
    },
    signSchnorr(msg32: Uint8Array, priv32: Uint8Array, aux32?: Uint8Array): Uint8Array {
      assertBytes(msg32, 32, 'message hash');
      assertPrivate(priv32);
      if (aux32 !== undefined) assertBytes(aux32, 32, 'aux randomness');
      return b.signSchnorr(msg32, priv32, aux32 ?? ZERO32);
    },
    verifySchnorr(msg32: Uint8Array, xonly32: Uint8Array, sig64: Uint8Array): boolean {
      if (!(msg32 instanceof Uint8Array) || msg32.length !== 32) return false;
      if (!(xonly32 instanceof Uint8Array) || xonly32.length !== 32) return false;
      if (!(sig64 instanceof Uint8Array) || sig64.length !== 64) return false;
      try {
        return b.verifySchnorr(msg32, xonly32, sig64);
      } catch {
        return false;
      }
    },
    xOnlyPointAddTweak(xonly32: Uint8Array, tweak32: Uint8Array): { parity: 0 | 1; xOnly: Uint8Array } | null {
      assertBytes(tweak32, 32, 'tweak');
      if (!(xonly32 instanceof Uint8Array) || xonly32.length !== 32) throw invalidPublicKey();
      if (!lessThanN(tweak32)) return null;
      try {
        return b.xOnlyPointAddTweak(xonly32, tweak32);
      } catch (cause) {
        throw invalidPublicKey(cause);
      }
    },
    privateNegate(priv32: Uint8Array): Uint8Array {
      assertPrivate(priv32);
      return b.privateNegate(priv32);
    },
    isPoint(p: Uint8Array): boolean {
      if (!hasPointShape(p)) return false;
      try {
        return b.isPoint(p);
      } catch {
        return false;
      }
    },
  });
}

const tinyBackend: Backend = {
  name: 'tiny-secp256k1',
  publicKey(d) {
    const p = tiny.pointFromScalar(d, true);
    // Unreachable for a validated key (1 <= d < n); kept so a null never escapes as a key.
    if (p === null) throw new InvalidKeyError('key.invalid_private_key', 'private key has no public key');
    return p;
  },
  pointAddScalar: (p, t) => tiny.pointAddScalar(p, t, true),
  privateAdd: (d, t) => tiny.privateAdd(d, t),
  signEcdsa: (m, d) => tiny.sign(m, d),
  verifyEcdsa: (m, p, s) => tiny.verify(m, p, s, true),
  signSchnorr: (m, d, aux) => tiny.signSchnorr(m, d, aux),
  verifySchnorr: (m, x, s) => tiny.verifySchnorr(m, x, s),
  xOnlyPointAddTweak(x, t) {
    const r = tiny.xOnlyPointAddTweak(x, t);
    return r === null ? null : { parity: r.parity, xOnly: r.xOnlyPubkey };
  },
  privateNegate: (d) => tiny.privateNegate(d),
  isPoint: (p) => tiny.isPoint(p),
};

const Point = secp256k1.Point;
const Fn = Point.Fn;

function bytesToScalar(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = 0; i < b.length; i++) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

function liftX(x: Uint8Array): InstanceType<typeof Point> {
  const c = new Uint8Array(33);
  c[0] = 0x02;
  c.set(x, 1);
  return Point.fromBytes(c);
}

const nobleBackend: Backend = {
  name: 'noble',
  publicKey: (d) => secp256k1.getPublicKey(d, true),
  pointAddScalar(p, t) {
    const P = Point.fromBytes(p);
    const k = bytesToScalar(t);
    const R = k === 0n ? P : P.add(Point.BASE.multiply(k));
    return R.is0() ? null : R.toBytes(true);
  },
  privateAdd(d, t) {
    const sum = Fn.add(bytesToScalar(d), bytesToScalar(t));
    return sum === 0n ? null : Fn.toBytes(sum);
  },
  signEcdsa: (m, d) => secp256k1.sign(m, d, { prehash: false, lowS: true }),
  verifyEcdsa: (m, p, s) => secp256k1.verify(s, m, p, { prehash: false, lowS: true }),
  signSchnorr: (m, d, aux) => schnorr.sign(m, d, aux),
  verifySchnorr: (m, x, s) => schnorr.verify(s, m, x),
  xOnlyPointAddTweak(x, t) {
    const P = liftX(x);
    const k = bytesToScalar(t);
    const R = k === 0n ? P : P.add(Point.BASE.multiply(k));
    if (R.is0()) return null;
    const c = R.toBytes(true);
    return { parity: c[0] === 0x03 ? 1 : 0, xOnly: c.slice(1) };
  },
  privateNegate: (d) => Fn.toBytes(Fn.neg(bytesToScalar(d))),
  isPoint(p) {
    Point.fromBytes(p).assertValidity();
    return true;
  },
};

/** libsecp256k1 (WebAssembly) backend. */
export const tinySecp: Secp256k1 = wrap(tinyBackend);
/** Pure-JS @noble/curves backend (the cross-check). */
export const nobleSecp: Secp256k1 = wrap(nobleBackend);

/**
 * The part of the `secp256k1` npm package (v5, native libsecp256k1 through N-API) used here.
 * Its functions validate their own arguments and throw plain Errors; `privateKeyTweakAdd` and
 * `privateKeyNegate` modify their first argument in place, so callers pass copies.
 */
interface NativeSecp256k1 {
  publicKeyCreate(seckey: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyVerify(pubkey: Uint8Array): boolean;
  publicKeyTweakAdd(pubkey: Uint8Array, tweak: Uint8Array, compressed: boolean): Uint8Array;
  privateKeyTweakAdd(seckey: Uint8Array, tweak: Uint8Array): Uint8Array;
  privateKeyNegate(seckey: Uint8Array): Uint8Array;
  ecdsaSign(msg32: Uint8Array, seckey: Uint8Array): { signature: Uint8Array };
  ecdsaVerify(sig: Uint8Array, msg32: Uint8Array, pubkey: Uint8Array): boolean;
}

type NodeModuleApi = typeof import('node:module');

/**
 * Loads the native addon without a static Node import, so this module still loads where there is
 * no Node (a browser bundle) or no usable prebuilt binary; returns why it did not load otherwise.
 * `secp256k1/bindings` is the addon itself: unlike the package's main entry it never falls back to
 * its pure-JS `elliptic` implementation silently.
 */
function loadNative(): { lib: NativeSecp256k1 } | { error: string } {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined>; getBuiltinModule?: (id: string) => unknown } }).process;
  if (proc?.env?.['MOFN_SECP_BACKEND'] === 'wasm') return { error: 'disabled by MOFN_SECP_BACKEND=wasm' };
  if (typeof proc?.getBuiltinModule !== 'function') return { error: 'not running on Node >= 20.16 (no process.getBuiltinModule)' };
  try {
    const { createRequire } = proc.getBuiltinModule('node:module') as NodeModuleApi;
    const lib = createRequire(import.meta.url)('secp256k1/bindings') as NativeSecp256k1;
    // Smoke test: 1*G must come out as the generator.
    const g = lib.publicKeyCreate(Uint8Array.of(...new Uint8Array(31), 1), true);
    if (g.length !== 33 || g[0] !== 0x02 || g[1] !== 0x79 || g[32] !== 0x98) return { error: 'native addon returned a wrong 1*G' };
    return { lib };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

function nativeBackend(lib: NativeSecp256k1): Backend {
  return {
    name: 'secp256k1-native',
    publicKey: (d) => lib.publicKeyCreate(d, true),
    pointAddScalar(p, t) {
      try {
        return lib.publicKeyTweakAdd(p, t, true);
      } catch (err) {
        // The tweak is already known < n, so a valid P failing means P + t*G is infinity.
        if (lib.publicKeyVerify(p)) return null;
        throw err;
      }
    },
    privateAdd(d, t) {
      try {
        return lib.privateKeyTweakAdd(d.slice(), t);
      } catch {
        return null; // d valid and t < n: only a zero sum fails
      }
    },
    signEcdsa: (m, d) => lib.ecdsaSign(m, d).signature,
    // libsecp256k1's verify requires low-S (it does not normalize), as BIP-146 does.
    verifyEcdsa: (m, p, s) => lib.ecdsaVerify(s, m, p),
    // The package has no BIP-340: Schnorr and x-only tweaks stay on libsecp256k1-in-WASM.
    signSchnorr: (m, d, aux) => tinyBackend.signSchnorr(m, d, aux),
    verifySchnorr: (m, x, s) => tinyBackend.verifySchnorr(m, x, s),
    xOnlyPointAddTweak: (x, t) => tinyBackend.xOnlyPointAddTweak(x, t),
    privateNegate: (d) => lib.privateKeyNegate(d.slice()),
    isPoint: (p) => lib.publicKeyVerify(p),
  };
}

const native = loadNative();

/**
 * libsecp256k1 as a native Node addon (the `secp256k1` package's prebuilt binaries; Schnorr and
 * x-only tweaks through tiny-secp256k1's WASM build), or undefined when the addon cannot load here.
 */
export const nativeSecp: Secp256k1 | undefined = 'lib' in native ? wrap(nativeBackend(native.lib)) : undefined;

/**
 * The backend mofn uses, chosen by the measurement in this file's header: the native addon when it
 * loads, else libsecp256k1 in WebAssembly. Read `secp.name` or {@link secpBackend} to see which.
 */
export const secp: Secp256k1 = nativeSecp ?? tinySecp;

/** Which backend {@link secp} is, and why the native one is not used when it is not. */
export const secpBackend: { readonly name: Secp256k1['name']; readonly nativeUnavailable?: string } = Object.freeze(
  'error' in native ? { name: secp.name, nativeUnavailable: native.error } : { name: secp.name },
);
