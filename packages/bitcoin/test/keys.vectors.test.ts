/**
 * Public vectors for keys: BIP-32 (all chains + vector 5 invalid keys), BIP-39 seed -> root xprv,
 * Coldcard SLIP-132 exports, and WIF rows of Bitcoin Core's key_io vectors.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  deriveChildPublic,
  derivePrivatePath,
  derivePublicPath,
  encodeExtendedPrivateKey,
  encodeExtendedPublicKey,
  encodeWif,
  findExtendedKeyVersion,
  hdNodeFromSeed,
  neuterNode,
  parseDerivationPath,
  parseExtendedPrivateKey,
  parseExtendedPublicKey,
  parseWif,
} from '../src/keys/index.ts';
import { HARDENED } from '../src/types.ts';
import type { Network } from '../src/types.ts';
import { readVectorJson, vectorPath } from '../../../test/support/vectors.ts';
import { codeOf } from '../../../test/support/errors.ts';

interface Bip32File {
  vectors: {
    id: number;
    seed?: string;
    chains?: { path: string; xpub: string; xprv: string }[];
    invalid_keys?: { key: string; reason: string }[];
  }[];
}
const bip32 = readVectorJson<Bip32File>('BIP-32/bip32_test_vectors.json');


describe('BIP-32 test vectors 1-4: derivation from seed', () => {
  const withChains = bip32.vectors.filter((v) => v.seed !== undefined && v.chains !== undefined);
  it('has the four derivation vectors', () => {
    expect(withChains.length).toBe(4);
  });
  for (const vector of withChains) {
    describe(`vector ${String(vector.id)}`, () => {
      const master = hdNodeFromSeed(hexToBytes(vector.seed!));
      for (const chain of vector.chains!) {
        it(`${chain.path}: xprv, xpub, parse round-trips`, () => {
          const path = parseDerivationPath(chain.path);
          const node = derivePrivatePath(master, path);
          expect(encodeExtendedPrivateKey(node, 'main')).toBe(chain.xprv);
          expect(encodeExtendedPublicKey(neuterNode(node), 'main')).toBe(chain.xpub);

          const parsedPub = parseExtendedPublicKey(chain.xpub, 'main');
          expect(encodeExtendedPublicKey(parsedPub, 'main')).toBe(chain.xpub);
          const parsedPrv = parseExtendedPrivateKey(chain.xprv);
          expect(parsedPrv.versionNetwork).toBe('main');
          expect(encodeExtendedPrivateKey(parsedPrv.node, 'main')).toBe(chain.xprv);
          expect(parsedPrv.node.publicKey).toEqual(parsedPub.publicKey);
        });
      }
      // Public derivation: from every chain entry, derive each later non-hardened step publicly.
      const chains = vector.chains!;
      for (let i = 0; i + 1 < chains.length; i++) {
        const from = chains[i]!;
        const to = chains[i + 1]!;
        const step = parseDerivationPath(to.path).at(-1)!;
        if (step >= HARDENED) continue;
        it(`public derivation ${from.path} -> ${to.path}`, () => {
          const child = deriveChildPublic(parseExtendedPublicKey(from.xpub), step);
          expect(encodeExtendedPublicKey(child, 'main')).toBe(to.xpub);
          expect(encodeExtendedPublicKey(derivePublicPath(parseExtendedPublicKey(from.xpub), [step]), 'main')).toBe(to.xpub);
        });
      }
    });
  }
});

describe('BIP-32 test vector 5: invalid extended keys', () => {
  const invalid = bip32.vectors.flatMap((v) => v.invalid_keys ?? []);
  it('has the invalid keys', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(16);
  });
  for (const { key, reason } of invalid) {
    const expected = reason === 'invalid checksum' ? 'key.bad_checksum' : 'key.invalid';
    it(`rejects (${reason}) as ${expected} where a public key is expected`, () => {
      expect(codeOf(() => parseExtendedPublicKey(key))).toBe(expected);
      expect(codeOf(() => parseExtendedPublicKey(key, 'main'))).toBe(expected);
    });
    it(`rejects (${reason}) as ${expected} where a private key is expected`, () => {
      expect(codeOf(() => parseExtendedPrivateKey(key))).toBe(expected);
    });
  }
});

describe('BIP-39 vectors: seed -> BIP-32 root xprv', () => {
  const file = readVectorJson<Record<string, string[][]>>('BIP-39/vectors.json');
  const rows = Object.entries(file).flatMap(([lang, list]) => list.map((row, i) => ({ lang, i, row })));
  it('has rows with an xprv column', () => {
    expect(rows.filter((r) => r.row.length >= 4).length).toBeGreaterThanOrEqual(24);
  });
  for (const { lang, i, row } of rows) {
    if (row.length < 4) continue;
    it(`${lang} #${String(i)}`, () => {
      const master = hdNodeFromSeed(hexToBytes(row[2]!));
      expect(encodeExtendedPrivateKey(master, 'main')).toBe(row[3]);
    });
  }
});

describe('Coldcard exports: SLIP-132 keys decode to the same key as their tpub form', () => {
  const files = readdirSync(vectorPath('Coldcard-multisig')).filter((f) => /^ccxp-.*\.json$/.test(f));
  it('finds the exports', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });
  for (const file of files) {
    it(file, () => {
      const x = readVectorJson<Record<string, string>>(`Coldcard-multisig/${file}`);
      const pairs: [string, string, 'sh-wsh' | 'wsh', string][] = [
        ['p2sh_p2wsh', 'p2sh_p2wsh_desc', 'sh-wsh', 'p2sh_p2wsh_deriv'],
        ['p2wsh', 'p2wsh_desc', 'wsh', 'p2wsh_deriv'],
      ];
      for (const [slipField, descField, script, derivField] of pairs) {
        const slip = x[slipField]!;
        const tpub = /\](tpub[1-9A-HJ-NP-Za-km-z]+)/.exec(x[descField]!)![1]!;
        const fromSlip = parseExtendedPublicKey(slip, 'test');
        const fromTpub = parseExtendedPublicKey(tpub, 'test');
        expect(fromSlip).toEqual(fromTpub);
        expect(encodeExtendedPublicKey(fromSlip, 'test')).toBe(tpub);
        expect(findExtendedKeyVersion(slip)?.script).toBe(script);
        expect(fromSlip.depth).toBe(parseDerivationPath(x[derivField]!).length);
        expect(codeOf(() => parseExtendedPublicKey(slip, 'main'))).toBe('key.wrong_network');
        // The descriptor's origin fingerprint is the export's xfp.
        expect(x[descField]!.toLowerCase()).toContain(`[${x['xfp']!.toLowerCase()}/`);
      }
      const p2sh = parseExtendedPublicKey(x['p2sh']!, 'signet');
      expect(p2sh.depth).toBe(1);
      expect(p2sh.childNumber).toBe(45 + HARDENED);
    });
  }
});

describe('key_io WIF rows', () => {
  const rows = readVectorJson<[string, string, { chain: string; isPrivkey: boolean; isCompressed?: boolean }][]>(
    'address-encoding/key_io_valid.json',
  ).filter((r) => r[2].isPrivkey);
  const networkOf = (chain: string): Network => (chain === 'main' ? 'main' : chain === 'regtest' ? 'regtest' : chain === 'signet' ? 'signet' : 'test');
  it('has WIF rows', () => {
    expect(rows.length).toBeGreaterThan(0);
  });
  for (const [wif, keyHex, meta] of rows) {
    it(`${meta.chain} ${wif}`, () => {
      const network = networkOf(meta.chain);
      const parsed = parseWif(wif, network);
      expect(parsed.privateKey).toEqual(hexToBytes(keyHex));
      expect(parsed.compressed).toBe(meta.isCompressed === true);
      expect(encodeWif(parsed.privateKey, network, parsed.compressed)).toBe(wif);
      expect(codeOf(() => parseWif(wif, network === 'main' ? 'test' : 'main'))).toBe('key.wrong_network');
    });
  }
  it('every key_io invalid string is rejected as a WIF key', () => {
    const invalid = readVectorJson<string[][]>('address-encoding/key_io_invalid.json');
    for (const [s] of invalid) {
      for (const n of ['main', 'test', 'signet', 'regtest'] as const) {
        expect(['key.invalid', 'key.bad_checksum']).toContain(codeOf(() => parseWif(s!, n)));
      }
    }
  });
});
