/**
 * secp256k1 backends: both must agree byte for byte on random inputs (property tests), ECDSA must
 * be RFC 6979 + low-S exactly as bitcoinjs-lib (ecpair + tiny-secp256k1) and elliptic produce, and
 * invalid inputs must be refused identically.
 */
import { isMofnError } from '@mofn/core';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ECPairFactory } from 'ecpair';
import fc from 'fast-check';
import * as tiny from 'tiny-secp256k1';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { isPrivateKey, nativeSecp, nobleSecp, secp, secpBackend, tinySecp, type Secp256k1 } from '../src/secp.ts';
import { isLowS } from '../src/keys/signature.ts';

const ECPair = ECPairFactory(tiny);
// elliptic ships no types; declare the little used here.
interface EllipticSignature {
  r: { toString(base: number): string };
  s: { toString(base: number): string };
}
const elliptic = createRequire(import.meta.url)('elliptic') as {
  ec: new (curve: string) => { sign(msg: Uint8Array, key: Uint8Array, options: { canonical: boolean }): EllipticSignature };
};
const ec = new elliptic.ec('secp256k1');

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const privKey = bytes32.filter(isPrivateKey);
const hex = (b: Uint8Array | null | undefined): string => (b == null ? String(b) : bytesToHex(b));
function be32(n: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));
}

function outcome(fn: () => unknown): string {
  try {
    const r = fn();
    if (r instanceof Uint8Array) return hex(r);
    return JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? hex(v) : v));
  } catch (err) {
    return isMofnError(err) ? `error:${err.code}` : `foreign:${String(err)}`;
  }
}

// The native addon ships prebuilt binaries for these platforms; elsewhere it may legitimately be absent.
const NATIVE_PLATFORMS = ['linux-x64', 'darwin-arm64', 'win32-x64'];
const nativeExpected = NATIVE_PLATFORMS.includes(`${process.platform}-${process.arch}`);
const backends: Secp256k1[] = [tinySecp, nobleSecp, ...(nativeSecp === undefined ? [] : [nativeSecp])];
const agree = (fn: (s: Secp256k1) => unknown): void => {
  const [a, ...rest] = backends.map((s) => outcome(() => fn(s)));
  for (const b of rest) expect(b).toBe(a);
  expect(a).not.toMatch(/^foreign:/);
};

describe('backend selection', () => {
  it('uses the native libsecp256k1 addon where its prebuilt binary exists, else WASM, and says which', () => {
    if (nativeExpected) {
      expect(secpBackend.nativeUnavailable).toBeUndefined();
      expect(nativeSecp).toBeDefined();
      expect(backends).toHaveLength(3);
    }
    expect(secp).toBe(nativeSecp ?? tinySecp);
    expect(secpBackend.name).toBe(secp.name);
    expect(secpBackend.nativeUnavailable === undefined).toBe(nativeSecp !== undefined);
  });

  it('native private-key operations never modify their arguments', () => {
    if (nativeSecp === undefined) {
      expect(nativeExpected).toBe(false);
      return;
    }
    const d = be32(12345n);
    const t = be32(678n);
    const before = hex(d);
    expect(hex(nativeSecp.privateAdd(d, t))).toBe(hex(be32(12345n + 678n)));
    expect(hex(nativeSecp.privateNegate(d))).toBe(hex(be32(N - 12345n)));
    expect(hex(d)).toBe(before);
    expect(hex(t)).toBe(hex(be32(678n)));
  });
});

describe('backends agree', () => {
  it('publicKey, pointAddScalar, privateAdd, privateNegate, xOnlyPointAddTweak, isPoint', () => {
    fc.assert(
      fc.property(privKey, bytes32, (d, t) => {
        const pub = tinySecp.publicKey(d);
        agree((s) => s.publicKey(d));
        agree((s) => s.pointAddScalar(pub, t));
        agree((s) => s.privateAdd(d, t));
        agree((s) => s.privateNegate(d));
        agree((s) => s.xOnlyPointAddTweak(pub.subarray(1), t));
        agree((s) => s.isPoint(pub));
        // x from random bytes: about half are on the curve.
        agree((s) => s.isPoint(Uint8Array.of(0x02, ...t)));
        agree((s) => s.xOnlyPointAddTweak(t, d));
      }),
      { numRuns: 150 },
    );
  });

  it('ECDSA and Schnorr sign/verify', () => {
    fc.assert(
      fc.property(privKey, bytes32, bytes32, (d, m, aux) => {
        const pub = tinySecp.publicKey(d);
        agree((s) => s.signEcdsa(m, d));
        agree((s) => s.signSchnorr(m, d, aux));
        agree((s) => s.signSchnorr(m, d));
        const sig = tinySecp.signEcdsa(m, d);
        agree((s) => s.verifyEcdsa(m, pub, sig));
        const tampered = sig.slice();
        tampered[5] = tampered[5]! ^ 1;
        agree((s) => s.verifyEcdsa(m, pub, tampered));
        const ssig = tinySecp.signSchnorr(m, d, aux);
        agree((s) => s.verifySchnorr(m, pub.subarray(1), ssig));
        const wrong = m.slice();
        wrong[0] = wrong[0]! ^ 0x80;
        agree((s) => s.verifySchnorr(wrong, pub.subarray(1), ssig));
      }),
      { numRuns: 60 },
    );
  });

  it('edge inputs are handled identically', () => {
    const d = be32(1n);
    const pub = tinySecp.publicKey(d);
    const cases: ((s: Secp256k1) => unknown)[] = [
      (s) => s.publicKey(be32(0n)),
      (s) => s.publicKey(be32(N)),
      (s) => s.publicKey(be32(N - 1n)),
      (s) => s.publicKey(new Uint8Array(31)),
      (s) => s.pointAddScalar(pub, be32(N)),
      (s) => s.pointAddScalar(pub, be32(0n)),
      (s) => s.pointAddScalar(pub, be32(N - 1n)), // G + (n-1)G = infinity
      (s) => s.pointAddScalar(Uint8Array.of(0x04, ...pub.subarray(1)), be32(5n)),
      (s) => s.pointAddScalar(Uint8Array.of(0x02, ...be32(5n)), be32(5n)), // x=5 is not on the curve
      (s) => s.privateAdd(be32(1n), be32(N - 1n)),
      (s) => s.privateAdd(be32(1n), be32(N)),
      (s) => s.privateNegate(be32(N - 1n)),
      (s) => s.xOnlyPointAddTweak(pub.subarray(1), be32(N)),
      (s) => s.isPoint(new Uint8Array(33)),
      (s) => s.isPoint(Uint8Array.of(0x06, ...tinySecp.pointAddScalar(pub, be32(1n))!.subarray(1), ...new Uint8Array(32))),
      (s) => s.verifyEcdsa(new Uint8Array(32), pub, new Uint8Array(64)),
      (s) => s.verifyEcdsa(new Uint8Array(31), pub, new Uint8Array(64)),
      (s) => s.verifySchnorr(new Uint8Array(32), new Uint8Array(32), new Uint8Array(64)),
      (s) => s.signEcdsa(new Uint8Array(32), be32(0n)),
      (s) => s.signSchnorr(new Uint8Array(32), be32(1n), new Uint8Array(31)),
    ];
    for (const c of cases) agree(c);
  });

  it('verifyEcdsa rejects the high-S twin of a valid signature (BIP-146 LOW_S) on every backend', () => {
    fc.assert(
      fc.property(privKey, bytes32, (d, m) => {
        const sig = secp.signEcdsa(m, d);
        const s = BigInt(`0x${hex(sig.subarray(32))}`);
        const high = Uint8Array.of(...sig.subarray(0, 32), ...be32(N - s));
        for (const b of backends) {
          expect(b.verifyEcdsa(m, secp.publicKey(d), sig)).toBe(true);
          expect(b.verifyEcdsa(m, secp.publicKey(d), high)).toBe(false);
        }
      }),
      { numRuns: 30 },
    );
  });
});

describe('ECDSA is RFC 6979 deterministic, low-S, as bitcoinjs-lib and elliptic', () => {
  it('byte-identical to ecpair (bitcoinjs-lib) and elliptic canonical signatures', () => {
    fc.assert(
      fc.property(privKey, bytes32, (d, m) => {
        const ours = secp.signEcdsa(m, d);
        expect(isLowS(ours)).toBe(true);
        const bitcoinjs = ECPair.fromPrivateKey(d).sign(m);
        expect(hex(ours)).toBe(hex(bitcoinjs));
        const e = ec.sign(Buffer.from(m), Buffer.from(d), { canonical: true });
        expect(hex(ours)).toBe(e.r.toString(16).padStart(64, '0') + e.s.toString(16).padStart(64, '0'));
        for (const b of backends) expect(hex(b.signEcdsa(m, d))).toBe(hex(ours));
      }),
      { numRuns: 80 },
    );
  });
});
