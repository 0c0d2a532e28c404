/**
 * Keys: public derivation against @scure/bip32 (every access pattern of the fast path), the comb's
 * edge cases against libsecp256k1, private derivation, paths and origins, SLIP-132 handling,
 * DER signatures against bitcoinjs-lib, WIF, and fuzzing of extended-key strings.
 */
import { MofnError } from '@mofn/core';
import { bytesToHex } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { script } from 'bitcoinjs-lib';
import fc from 'fast-check';
import * as tiny from 'tiny-secp256k1';
import { describe, expect, it, vi } from 'vitest';
import { addTweakTimesG, addTweaksTimesG, affineOf } from '../src/keys/fastTweak.ts';
import {
  decodeDerSignature,
  defaultAccountPath,
  deriveChildPrivate,
  deriveChildPublic,
  derivePrivatePath,
  derivePublicPath,
  encodeBase58Check,
  encodeDerSignature,
  encodeExtendedPrivateKey,
  encodeExtendedPublicKey,
  encodeWif,
  EXTENDED_KEY_VERSIONS,
  fingerprintOf,
  formatDerivationPath,
  formatKeyOrigin,
  hdNodeFromSeed,
  isExtendedPublicKey,
  isLowS,
  masterFingerprint,
  neuterNode,
  parseDerivationPath,
  parseExtendedPrivateKey,
  parseExtendedPublicKey,
  parseKeyOrigin,
  parseWif,
  serializeExtendedKey,
} from '../src/keys/index.ts';
import { isPrivateKey, secp } from '../src/secp.ts';
import { HARDENED, type ExtendedPublicKey } from '../src/types.ts';
import { codeOf } from '../../../test/support/errors.ts';

const H = HARDENED;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const hex = bytesToHex;
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const privKey = bytes32.filter(isPrivateKey);
function be32(n: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));
}


/** A random extended public key at depth 0..9 (consistent BIP-32 fields) and its scure twin. */
const xpubArb = fc.record({ d: privKey, chainCode: bytes32, depth: fc.integer({ min: 0, max: 9 }), fp: fc.nat(), child: fc.nat() }).map(({ d, chainCode, depth, fp, child }) => {
  const key: ExtendedPublicKey = {
    versionNetwork: 'main',
    depth,
    parentFingerprint: depth === 0 ? 0 : fp >>> 0,
    childNumber: depth === 0 ? 0 : child >>> 0,
    chainCode,
    publicKey: secp.publicKey(d),
  };
  const scure = new HDKey({ depth, index: key.childNumber, parentFingerprint: key.parentFingerprint, chainCode, publicKey: key.publicKey });
  return { key, scure };
});

function expectSame(ours: ExtendedPublicKey, theirs: HDKey): void {
  expect(hex(ours.publicKey)).toBe(hex(theirs.publicKey!));
  expect(hex(ours.chainCode)).toBe(hex(theirs.chainCode!));
  expect(ours.parentFingerprint).toBe(theirs.parentFingerprint);
  expect(ours.childNumber).toBe(theirs.index);
  expect(ours.depth).toBe(theirs.depth);
  expect(encodeExtendedPublicKey(ours, 'main')).toBe(theirs.publicExtendedKey);
}

describe('deriveChildPublic equals @scure/bip32', () => {
  const index = fc.integer({ min: 0, max: H - 1 });
  it('random keys, random indexes (single path)', () => {
    fc.assert(
      fc.property(xpubArb, index, ({ key, scure }, i) => {
        expectSame(deriveChildPublic(key, i), scure.deriveChild(i));
      }),
      { numRuns: 150 },
    );
  });
  it('runs of consecutive indexes (batched path), interleaved parents, repeats', () => {
    fc.assert(
      fc.property(xpubArb, xpubArb, fc.integer({ min: 0, max: H - 40 }), fc.integer({ min: 1, max: 30 }), ({ key: a, scure: sa }, { key: b, scure: sb }, start, len) => {
        for (let i = start; i < start + len; i++) {
          expectSame(deriveChildPublic(a, i), sa.deriveChild(i));
          expectSame(deriveChildPublic(b, i), sb.deriveChild(i));
          expectSame(deriveChildPublic(a, i), sa.deriveChild(i)); // repeated request
        }
        expectSame(deriveChildPublic(a, start), sa.deriveChild(start)); // back into the batch
      }),
      { numRuns: 12 },
    );
  });
  it('the last non-hardened indexes (a batch must stop at 2^31-1)', () => {
    const { key, scure } = fc.sample(xpubArb, 1)[0]!;
    for (let i = H - 5; i < H; i++) expectSame(deriveChildPublic(key, i), scure.deriveChild(i));
  });
  it('derivePublicPath follows each step', () => {
    fc.assert(
      fc.property(xpubArb, fc.array(fc.integer({ min: 0, max: H - 1 }), { maxLength: 4 }), ({ key, scure }, path) => {
        let s = scure;
        for (const i of path) s = s.deriveChild(i);
        expectSame(derivePublicPath(key, path), s);
      }),
      { numRuns: 30 },
    );
  });
  it('returns frozen keys and never shares bytes between calls', () => {
    const { key } = fc.sample(xpubArb, 1)[0]!;
    const a = deriveChildPublic(key, 7);
    expect(Object.isFrozen(a)).toBe(true);
    const b = deriveChildPublic(key, 8);
    const c = deriveChildPublic(key, 7);
    expect(hex(c.publicKey)).toBe(hex(a.publicKey));
    expect(c.publicKey).not.toBe(b.publicKey);
  });
  it('does not use a cached state after the parent bytes changed in place', () => {
    const { key } = fc.sample(xpubArb, 1)[0]!;
    const mutable = { ...key, chainCode: key.chainCode.slice(), publicKey: key.publicKey.slice() };
    deriveChildPublic(mutable, 0);
    mutable.chainCode[0] = mutable.chainCode[0]! ^ 1;
    const scure = new HDKey({ depth: key.depth, index: key.childNumber, parentFingerprint: key.parentFingerprint, chainCode: mutable.chainCode, publicKey: key.publicKey });
    expectSame(deriveChildPublic(mutable, 1), scure.deriveChild(1));
  });
  it('rejects hardened and malformed indexes and bad parents with typed errors', () => {
    const { key } = fc.sample(xpubArb, 1)[0]!;
    expect(codeOf(() => deriveChildPublic(key, H))).toBe('key.hardened_from_public');
    expect(codeOf(() => deriveChildPublic(key, -1))).toBe('key.invalid_index');
    expect(codeOf(() => deriveChildPublic(key, 1.5))).toBe('key.invalid_index');
    expect(codeOf(() => deriveChildPublic(key, 2 ** 32))).toBe('key.invalid_index');
    expect(codeOf(() => deriveChildPublic({ ...key, depth: 255 }, 0))).toBe('key.invalid');
    expect(codeOf(() => deriveChildPublic({ ...key, publicKey: new Uint8Array(33) }, 0))).toBe('key.invalid');
    expect(codeOf(() => deriveChildPublic({ ...key, chainCode: new Uint8Array(31) }, 0))).toBe('key.invalid');
  });
});

describe('both CKDpub primitives: native libsecp256k1 tweak-add and the comb (used without the addon)', () => {
  it('the WASM-backed module derives through the comb and gives the same children as the default module', async () => {
    vi.stubEnv('MOFN_SECP_BACKEND', 'wasm');
    vi.resetModules();
    try {
      const secpWasm = await import('../src/secp.ts');
      const keysWasm = await import('../src/keys/extendedKey.ts');
      expect(secpWasm.secp.name).toBe('tiny-secp256k1');
      expect(secpWasm.secpBackend.nativeUnavailable).toMatch(/MOFN_SECP_BACKEND/);
      fc.assert(
        fc.property(xpubArb, fc.integer({ min: 0, max: H - 40 }), fc.integer({ min: 1, max: 20 }), ({ key, scure }, start, len) => {
          for (let i = start; i < start + len; i++) {
            const comb = keysWasm.deriveChildPublic(key, i);
            expectSame(comb, scure.deriveChild(i));
            expect(hex(comb.publicKey)).toBe(hex(deriveChildPublic(key, i).publicKey));
          }
          const far = (start * 7 + 12345) % H; // a single, non-sequential child
          expect(hex(keysWasm.deriveChildPublic(key, far).publicKey)).toBe(hex(deriveChildPublic(key, far).publicKey));
        }),
        { numRuns: 10 },
      );
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});

describe('fixed-base comb (fastTweak) edge cases agree with libsecp256k1', () => {
  const G = secp.publicKey(be32(1n));
  const parents = [G, secp.publicKey(be32(2n)), secp.publicKey(be32(N - 1n)), secp.publicKey(be32(0x7ffn))];
  const tweaks = [
    0n, 1n, 2n, N - 1n, N - 2n, 0x3ffn, 0x400n, 0x401n, 0x7ffn, 0x800n, (1n << 255n) - 1n, 1n << 255n, N - 0x7ffn,
    ((1n << 253n) - 1n) | 0x7ffn, // carries through every window
    0x7ffn << 11n, (0x7ffn << 22n) | 0x7ffn,
  ];
  it('single and batched paths, including doubling and infinity cases', () => {
    for (const p of parents) {
      const A = affineOf(p);
      const ts = tweaks.map(be32);
      const batch = addTweaksTimesG(A, ts);
      ts.forEach((t, i) => {
        const expected = tiny.pointAddScalar(p, t, true);
        expect(hex(addTweakTimesG(A, t) ?? new Uint8Array())).toBe(hex(expected ?? new Uint8Array()));
        expect(hex(batch[i] ?? new Uint8Array())).toBe(hex(expected ?? new Uint8Array()));
      });
    }
  });
  it('random tweaks, single and batched', () => {
    fc.assert(
      fc.property(privKey, fc.array(bytes32.filter((t) => BigInt(`0x${hex(t)}`) < N), { minLength: 1, maxLength: 40 }), (d, ts) => {
        const p = secp.publicKey(d);
        const A = affineOf(p);
        const batch = addTweaksTimesG(A, ts);
        ts.forEach((t, i) => {
          const expected = hex(tiny.pointAddScalar(p, t, true)!);
          expect(hex(batch[i]!)).toBe(expected);
          expect(hex(addTweakTimesG(A, t)!)).toBe(expected);
        });
      }),
      { numRuns: 25 },
    );
  });
});

describe('HD private keys', () => {
  const seed = fc.uint8Array({ minLength: 16, maxLength: 64 });
  const pathArb = fc.array(fc.oneof(fc.integer({ min: 0, max: H - 1 }), fc.integer({ min: H, max: 0xffffffff })), { maxLength: 5 });
  it('hdNodeFromSeed/deriveChildPrivate equal @scure/bip32; neuter + public derivation agree', () => {
    fc.assert(
      fc.property(seed, pathArb, fc.integer({ min: 0, max: H - 1 }), (s, path, last) => {
        const ours = derivePrivatePath(hdNodeFromSeed(s), path);
        let theirs = HDKey.fromMasterSeed(s);
        for (const i of path) theirs = theirs.deriveChild(i);
        expect(encodeExtendedPrivateKey(ours, 'main')).toBe(theirs.privateExtendedKey);
        expect(encodeExtendedPublicKey(neuterNode(ours), 'main')).toBe(theirs.publicExtendedKey);
        const viaPrivate = neuterNode(deriveChildPrivate(ours, last), 'test');
        const viaPublic = deriveChildPublic(neuterNode(ours, 'test'), last);
        expect(viaPublic).toEqual(viaPrivate);
        const reparsed = parseExtendedPrivateKey(encodeExtendedPrivateKey(ours, 'test'));
        expect(reparsed.versionNetwork).toBe('test');
        expect(reparsed.node).toEqual(ours);
      }),
      { numRuns: 40 },
    );
  });
  it('paths sharing prefixes from one master (the last-child memo) equal @scure/bip32', () => {
    const s = new Uint8Array(32).fill(5);
    const master = hdNodeFromSeed(s);
    const scureMaster = HDKey.fromMasterSeed(s);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 5 })), { minLength: 1, maxLength: 12 }), (steps) => {
        for (const [branch, i] of steps) {
          const path = [48 + H, 1 + H, H, 2 + H, branch, i];
          const ours = derivePrivatePath(master, path);
          let theirs = scureMaster;
          for (const p of path) theirs = theirs.deriveChild(p);
          expect(encodeExtendedPrivateKey(ours, 'main')).toBe(theirs.privateExtendedKey);
        }
      }),
      { numRuns: 15 },
    );
    const mutable = { ...master, chainCode: master.chainCode.slice() };
    const before = deriveChildPrivate(mutable, 3);
    mutable.chainCode[0] = mutable.chainCode[0]! ^ 1;
    expect(deriveChildPrivate(mutable, 3).privateKey).not.toEqual(before.privateKey);
  });
  it('masterFingerprint is HASH160(master pubkey)[0..4] and children carry it', () => {
    const master = hdNodeFromSeed(new Uint8Array(32).fill(7));
    const fp = masterFingerprint(master);
    expect(fp).toBe(fingerprintOf(master.publicKey));
    expect(fp).toMatch(/^[0-9a-f]{8}$/);
    expect(deriveChildPrivate(master, H).parentFingerprint.toString(16).padStart(8, '0')).toBe(fp);
    expect(fp).toBe(hex(HDKey.fromMasterSeed(new Uint8Array(32).fill(7)).identifier!.subarray(0, 4)));
  });
  it('rejects bad seeds and indexes', () => {
    expect(codeOf(() => hdNodeFromSeed(new Uint8Array(15)))).toBe('key.invalid_seed');
    expect(codeOf(() => hdNodeFromSeed(new Uint8Array(65)))).toBe('key.invalid_seed');
    const m = hdNodeFromSeed(new Uint8Array(16));
    expect(codeOf(() => deriveChildPrivate(m, -1))).toBe('key.invalid_index');
    expect(codeOf(() => deriveChildPrivate(m, 2 ** 32))).toBe('key.invalid_index');
  });
  it('parseExtendedPrivateKey refuses public keys; parseExtendedPublicKey refuses private keys with a hint', () => {
    const m = hdNodeFromSeed(new Uint8Array(16).fill(1));
    const xprv = encodeExtendedPrivateKey(m, 'main');
    const xpub = encodeExtendedPublicKey(neuterNode(m), 'main');
    expect(codeOf(() => parseExtendedPrivateKey(xpub))).toBe('key.expected_private');
    let err: unknown;
    try {
      parseExtendedPublicKey(xprv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MofnError);
    expect((err as MofnError).code).toBe('key.private_key');
    expect((err as MofnError).hint).toMatch(/xpub/);
    expect((err as MofnError).message).not.toContain(xprv.slice(4, 20));
    expect(isExtendedPublicKey(xprv)).toBe(false);
    expect(isExtendedPublicKey(xpub)).toBe(true);
  });
});

describe('SLIP-132 versions', () => {
  it('every public version parses to the same key, normalised, with the right network; private ones are refused', () => {
    fc.assert(
      fc.property(xpubArb, ({ key }) => {
        for (const v of EXTENDED_KEY_VERSIONS) {
          if (v.kind === 'public') {
            const text = serializeExtendedKey(v.version, key.depth, key.parentFingerprint, key.childNumber, key.chainCode, key.publicKey);
            expect(text.startsWith(v.prefix)).toBe(true);
            const parsed = parseExtendedPublicKey(text, v.versionNetwork === 'main' ? 'main' : 'signet');
            expect(parsed).toEqual({ ...key, versionNetwork: v.versionNetwork });
            expect(codeOf(() => parseExtendedPublicKey(text, v.versionNetwork === 'main' ? 'regtest' : 'main'))).toBe('key.wrong_network');
            const normal = encodeExtendedPublicKey(parsed, v.versionNetwork === 'main' ? 'main' : 'test');
            expect(normal.slice(0, 4)).toBe(v.versionNetwork === 'main' ? 'xpub' : 'tpub');
          } else {
            const keyData = Uint8Array.of(0, ...be32(123456789n));
            const text = serializeExtendedKey(v.version, key.depth, key.parentFingerprint, key.childNumber, key.chainCode, keyData);
            expect(text.startsWith(v.prefix)).toBe(true);
            expect(codeOf(() => parseExtendedPublicKey(text))).toBe('key.private_key');
            expect(parseExtendedPrivateKey(text).versionNetwork).toBe(v.versionNetwork);
          }
        }
      }),
      { numRuns: 10 },
    );
  });
});

describe('extended-key fuzzing: only MofnErrors, no corrupted string accepted', () => {
  const m = hdNodeFromSeed(new Uint8Array(32).fill(3));
  const valid = [
    encodeExtendedPublicKey(neuterNode(m), 'main'),
    encodeExtendedPublicKey(neuterNode(derivePrivatePath(m, [48 + H, 1 + H, H, 2 + H])), 'test'),
    encodeExtendedPrivateKey(m, 'main'),
  ];
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  const parsers = [
    (s: string) => parseExtendedPublicKey(s),
    (s: string) => parseExtendedPublicKey(s, 'test'),
    (s: string) => parseExtendedPrivateKey(s),
    (s: string) => parseWif(s),
  ];
  function onlyMofnErrors(s: string): void {
    for (const p of parsers) {
      try {
        p(s);
      } catch (err) {
        expect(err).toBeInstanceOf(MofnError);
      }
    }
    expect(typeof isExtendedPublicKey(s)).toBe('boolean');
  }
  it('random strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 130 }), onlyMofnErrors), { numRuns: 300 });
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...Array.from(alphabet)), maxLength: 130 }), onlyMofnErrors), { numRuns: 300 });
  });
  it('random 78-byte payloads with a correct checksum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 78, maxLength: 78 }), fc.constantFrom(...EXTENDED_KEY_VERSIONS), (raw, v) => {
        raw[0] = v.version >>> 24;
        raw[1] = (v.version >>> 16) & 0xff;
        raw[2] = (v.version >>> 8) & 0xff;
        raw[3] = v.version & 0xff;
        onlyMofnErrors(encodeBase58Check(raw));
      }),
      { numRuns: 300 },
    );
  });
  it('no single-character substitution, deletion, insertion or truncation is accepted', () => {
    fc.assert(
      fc.property(fc.constantFrom(...valid), fc.nat(), fc.constantFrom(...Array.from(alphabet)), fc.constantFrom('sub', 'del', 'ins', 'cut'), (s, pos, c, op) => {
        const i = pos % s.length;
        const mutated = op === 'sub' ? s.slice(0, i) + c + s.slice(i + 1) : op === 'del' ? s.slice(0, i) + s.slice(i + 1) : op === 'ins' ? s.slice(0, i) + c + s.slice(i) : s.slice(0, i);
        if (mutated === s) return;
        for (const p of parsers.slice(0, 3)) {
          const code = codeOf(() => p(mutated));
          expect(['key.bad_checksum', 'key.invalid']).toContain(code);
        }
      }),
      { numRuns: 1500 },
    );
  });
  it('every byte flip of the raw checksum is detected', () => {
    for (const s of valid) {
      const raw = base58.decode(s);
      for (let i = raw.length - 4; i < raw.length; i++) {
        for (const bit of [1, 0x80]) {
          const bad = raw.slice();
          bad[i] = bad[i]! ^ bit;
          expect(codeOf(() => parseExtendedPublicKey(base58.encode(bad)))).toBe('key.bad_checksum');
          expect(codeOf(() => parseExtendedPrivateKey(base58.encode(bad)))).toBe('key.bad_checksum');
        }
      }
    }
  });
  it('refuses over-long input before decoding', () => {
    expect(codeOf(() => parseExtendedPublicKey('x'.repeat(100_000)))).toBe('key.invalid');
  });
  it('surrounding whitespace is ignored', () => {
    expect(parseExtendedPublicKey(`  ${valid[0]!}\n`)).toEqual(parseExtendedPublicKey(valid[0]!));
  });
});

describe('derivation paths', () => {
  it('parses the usual spellings', () => {
    const bip48 = [48 + H, 1 + H, 0 + H, 2 + H];
    for (const s of ["m/48'/1'/0'/2'", '48h/1h/0h/2h', 'm/48H/1H/0H/2H', "48'/1h/0H/2'", "M/48'/1'/0'/2'"]) expect(parseDerivationPath(s)).toEqual(bip48);
    expect(parseDerivationPath('m')).toEqual([]);
    expect(parseDerivationPath('0/1/2147483647')).toEqual([0, 1, 2147483647]);
    expect(parseDerivationPath("2147483647'")).toEqual([0xffffffff]);
  });
  it('rejects garbage with key.invalid_path', () => {
    for (const s of ['', 'm/', 'm//1', '0f', '-0', '-1', '+1', '0x1', '1.0', '1e3', "1''", "1h'", 'h', "'", '1/', '/1', ' 1', '1 ', '2147483648', "2147483648'", '99999999999', '１', 'm/0/*', '1/2;3', 'n/1']) {
      expect(codeOf(() => parseDerivationPath(s))).toBe('key.invalid_path');
    }
    expect(codeOf(() => parseDerivationPath(Array(256).fill('0').join('/')))).toBe('key.invalid_path');
  });
  it('formats and round-trips', () => {
    expect(formatDerivationPath([48 + H, 1 + H, H, 2 + H])).toBe("m/48'/1'/0'/2'");
    expect(formatDerivationPath([48 + H, 1 + H, H, 2 + H], { marker: 'h', prefix: false })).toBe('48h/1h/0h/2h');
    expect(formatDerivationPath([])).toBe('m');
    expect(formatDerivationPath([], { prefix: false })).toBe('');
    expect(codeOf(() => formatDerivationPath([-1]))).toBe('key.invalid_path');
    expect(codeOf(() => formatDerivationPath([2 ** 32]))).toBe('key.invalid_path');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 10 }), fc.constantFrom<'h' | "'">('h', "'"), fc.boolean(), (path, marker, prefix) => {
        expect(parseDerivationPath(formatDerivationPath(path, { marker, prefix }))).toEqual(path);
      }),
    );
  });
});

describe('key origins', () => {
  it('parses and formats', () => {
    expect(parseKeyOrigin('[deadbeef/48h/1h/0h/2h]')).toEqual({ fingerprint: 'deadbeef', path: [48 + H, 1 + H, H, 2 + H] });
    expect(parseKeyOrigin("[DEADBEEF/48'/0']")).toEqual({ fingerprint: 'deadbeef', path: [48 + H, H] });
    expect(parseKeyOrigin('[0f056943]')).toEqual({ fingerprint: '0f056943', path: [] });
    expect(parseKeyOrigin('0f056943/45h')).toEqual({ fingerprint: '0f056943', path: [45 + H] });
    expect(formatKeyOrigin({ fingerprint: 'DEADBEEF', path: [48 + H, 1 + H, H, 2 + H] })).toBe('[deadbeef/48h/1h/0h/2h]');
    expect(formatKeyOrigin({ fingerprint: 'deadbeef', path: [45 + H] }, "'")).toBe("[deadbeef/45']");
    expect(formatKeyOrigin({ fingerprint: 'deadbeef', path: [] })).toBe('[deadbeef]');
  });
  it('rejects bad fingerprints and paths', () => {
    for (const s of ['[deadbee/0]', '[deadbeefa/0]', '[xyzxyzxy]', '[]', '[/0]', '[dead beef]']) expect(codeOf(() => parseKeyOrigin(s))).toBe('key.invalid_fingerprint');
    for (const s of ['[deadbeef/0f]', '[deadbeef/]', '[deadbeef//0]', '[deadbeef/-0]', '[deadbeef/2147483648]']) expect(codeOf(() => parseKeyOrigin(s))).toBe('key.invalid_path');
    for (const s of ['[deadbeef', 'deadbeef]']) expect(codeOf(() => parseKeyOrigin(s))).toBe('key.invalid_origin');
    expect(codeOf(() => formatKeyOrigin({ fingerprint: 'xyz', path: [] }))).toBe('key.invalid_fingerprint');
  });
});

describe('defaultAccountPath', () => {
  it('BIP-48 for segwit and taproot, BIP-45 for sh', () => {
    expect(formatDerivationPath(defaultAccountPath('wsh', 'main'))).toBe("m/48'/0'/0'/2'");
    expect(formatDerivationPath(defaultAccountPath('wsh', 'test'))).toBe("m/48'/1'/0'/2'");
    expect(formatDerivationPath(defaultAccountPath('sh-wsh', 'signet', 3))).toBe("m/48'/1'/3'/1'");
    expect(formatDerivationPath(defaultAccountPath('tr', 'regtest'))).toBe("m/48'/1'/0'/3'");
    expect(formatDerivationPath(defaultAccountPath('sh', 'main'))).toBe("m/45'");
    expect(codeOf(() => defaultAccountPath('sh', 'main', 1))).toBe('key.invalid_account');
    expect(codeOf(() => defaultAccountPath('wsh', 'main', -1))).toBe('key.invalid_account');
    expect(codeOf(() => defaultAccountPath('wsh', 'main', H))).toBe('key.invalid_account');
  });
});

describe('DER signatures (BIP-66)', () => {
  const sighash = fc.constantFrom(0x01, 0x02, 0x03, 0x81, 0x82, 0x83);
  it('encode equals bitcoinjs-lib and decode round-trips', () => {
    fc.assert(
      fc.property(privKey, bytes32, sighash, (d, m, type) => {
        const sig = secp.signEcdsa(m, d);
        const der = encodeDerSignature(sig, type);
        expect(hex(der)).toBe(hex(script.signature.encode(sig, type)));
        expect(decodeDerSignature(der)).toEqual({ sig64: sig, sighashType: type });
        expect(isLowS(sig)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
  it('short r/s values and high bits are encoded minimally', () => {
    for (const [r, s] of [[1n, 1n], [0x80n, 0x7fn], [N - 1n, 0xffn], [1n << 248n, (1n << 255n) + 5n]] as const) {
      const sig = Uint8Array.of(...be32(r), ...be32(s));
      const der = encodeDerSignature(sig, 0x01);
      expect(hex(der)).toBe(hex(script.signature.encode(sig, 0x01)));
      expect(decodeDerSignature(der).sig64).toEqual(sig);
    }
  });
  it('rejects non-strict encodings with signature.invalid_der', () => {
    const good = encodeDerSignature(Uint8Array.of(...be32(0x1234n), ...be32(0x80n)), 0x01);
    expect(hex(good)).toBe('3008020212340202008001');
    const cases = [
      '3006020101020101', // too short (8 bytes)
      `3047022100${'11'.repeat(32)}022100${'22'.repeat(32)}0101`, // too long (74 bytes)
      '3108020212340202008001', // not a sequence
      '3009020212340202008001', // total length wrong
      '3008030212340202008001', // R not an integer
      '3008020012340202008001', // R length 0 / lengths do not add up
      '3008023012340202008001', // R length past the end
      '3008020292340202008001', // R negative
      '300902030012340202008001', // R with excess 0x00
      '3008020212340302008001', // S not an integer
      '30070202123402018001', // S negative
      '300902021234020300008001', // S with excess 0x00
      '3008020212340200008001', // S length 0
      '30080202123402020080', // sighash byte missing
    ];
    for (const c of cases) expect(codeOf(() => decodeDerSignature(Uint8Array.from(Buffer.from(c, 'hex'))))).toBe('signature.invalid_der');
  });
  it('rejects zero/out-of-range values and undefined sighash types', () => {
    expect(codeOf(() => decodeDerSignature(Uint8Array.from([0x30, 6, 2, 1, 0, 2, 1, 1, 1])))).toBe('signature.invalid');
    const nBytes = [0x00, ...be32(N)];
    expect(codeOf(() => decodeDerSignature(Uint8Array.from([0x30, 4 + 33 + 1, 2, 33, ...nBytes, 2, 1, 1, 1])))).toBe('signature.invalid');
    const ok = encodeDerSignature(Uint8Array.of(...be32(5n), ...be32(6n)), 0x01);
    for (const t of [0x00, 0x04, 0x80, 0x84, 0x41]) {
      const bad = ok.slice();
      bad[bad.length - 1] = t;
      expect(codeOf(() => decodeDerSignature(bad))).toBe('signature.invalid_sighash');
      expect(codeOf(() => encodeDerSignature(Uint8Array.of(...be32(5n), ...be32(6n)), t))).toBe('signature.invalid_sighash');
    }
    expect(codeOf(() => encodeDerSignature(new Uint8Array(64), 1))).toBe('signature.invalid');
    expect(codeOf(() => encodeDerSignature(new Uint8Array(63), 1))).toBe('signature.invalid');
  });
  it('decoding random bytes throws only typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        try {
          decodeDerSignature(b);
        } catch (err) {
          expect(err).toBeInstanceOf(MofnError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('WIF', () => {
  it('round-trips and checks the network', () => {
    fc.assert(
      fc.property(privKey, fc.boolean(), fc.constantFrom('main', 'test', 'signet', 'regtest' as const), (d, compressed, network) => {
        const wif = encodeWif(d, network, compressed);
        const parsed = parseWif(wif, network);
        expect(parsed.privateKey).toEqual(d);
        expect(parsed.compressed).toBe(compressed);
        expect(parsed.versionNetwork).toBe(network === 'main' ? 'main' : 'test');
      }),
      { numRuns: 50 },
    );
    expect(codeOf(() => encodeWif(new Uint8Array(32), 'main'))).toBe('key.invalid_private_key');
  });
});
