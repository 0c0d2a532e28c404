/**
 * BIP-39 reference vectors (trezor/python-mnemonic vectors.json, passphrase "TREZOR"):
 * mnemonic -> entropy, mnemonic -> seed -> BIP-32 root xprv, through mofn's mnemonic handling and
 * through a full keystore round trip; and the published invalid mnemonics are refused.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '@noble/hashes/utils.js';
import { encodeExtendedPrivateKey, hdNodeFromSeed } from '@mofn/bitcoin';
import { readVectorJson } from '../../../test/support/vectors.ts';
import { BIP39_LANGUAGES, createKeystore, isBip39Language, mnemonicToEntropy, mnemonicToSeed, parseMnemonic, unlockKeystore } from '../src/index.ts';

type Vector = [entropy: string, mnemonic: string, seed: string, xprv: string];
const vectors = readVectorJson<Record<string, Vector[]>>('BIP-39/vectors.json');
const invalid = readVectorJson<{ invalid_mnemonics: { language: string; mnemonic: string }[] }>('BIP-39/invalid_mnemonics.json');
const PASSPHRASE = 'TREZOR';
const FAST_KDF = { N: 2 ** 10, r: 8, p: 1 };

const supported = Object.keys(vectors).filter((lang) => isBip39Language(lang));
const unsupported = Object.keys(vectors).filter((lang) => !isBip39Language(lang));

describe('BIP-39 vectors', () => {
  it('cover English and every word list mofn ships', () => {
    expect(vectors['english']?.length).toBeGreaterThan(0);
    for (const lang of BIP39_LANGUAGES) expect(Object.keys(vectors)).toContain(lang);
  });

  describe.each(supported)('%s', (lang) => {
    const cases = vectors[lang]!;
    it.each(cases.map((c, i) => [i, ...c] as const))('vector %i: mnemonic -> entropy, seed, root xprv', (_i, entropy, mnemonic, seed, xprv) => {
      const parsed = parseMnemonic(mnemonic);
      // Chinese simplified/traditional share characters: detection must land on a list that decodes to the same entropy.
      expect(bytesToHex(mnemonicToEntropy(mnemonic, parsed.language))).toBe(entropy);
      expect(bytesToHex(mnemonicToEntropy(mnemonic, lang as never))).toBe(entropy);
      const s = mnemonicToSeed(mnemonic, PASSPHRASE);
      expect(bytesToHex(s)).toBe(seed);
      expect(encodeExtendedPrivateKey(hdNodeFromSeed(s), 'main')).toBe(xprv);
    });

    it('keystore round trip of the first vector gives the vector root xprv', async () => {
      const [, mnemonic, , xprv] = cases[0]!;
      const file = await createKeystore({ mnemonic, passphrase: PASSPHRASE, password: 'pw', network: 'main', kdf: FAST_KDF });
      const unlocked = await unlockKeystore(file, 'pw');
      expect(encodeExtendedPrivateKey(unlocked.root, 'main')).toBe(xprv);
      expect(unlocked.hasPassphrase).toBe(true);
      expect(file.fingerprint).toBe(unlocked.fingerprint);
    });
  });

  // @scure/bip39 has no Russian or Turkish word list: mofn cannot check those mnemonics and must refuse them.
  it.each(unsupported)('%s mnemonics (no word list in mofn) are refused, not silently accepted', (lang) => {
    for (const [, mnemonic] of vectors[lang]!) {
      expect(() => parseMnemonic(mnemonic)).toThrow(expect.objectContaining({ code: 'keystore.bad_mnemonic' }));
    }
  });

  it.each(invalid.invalid_mnemonics.map((c) => [c.mnemonic, c.language] as const))('invalid mnemonic %j is rejected', (mnemonic, language) => {
    expect(isBip39Language(language)).toBe(true);
    let err: unknown;
    try {
      parseMnemonic(mnemonic);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'keystore.bad_mnemonic', details: { reason: 'checksum' } });
    expect(() => mnemonicToSeed(mnemonic)).toThrow(expect.objectContaining({ code: 'keystore.bad_mnemonic' }));
  });
});
