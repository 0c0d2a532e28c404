/**
 * BIP-388 wallet policies (template + key information -> descriptor; invalid templates) and the
 * BIP-327 / BIP-328 MuSig2 key aggregation behind BIP-390 musig() keys.
 */
import { MofnError } from '@mofn/core';
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.ts';
import {
  createWalletPolicy,
  musigKeyAgg,
  musigKeySort,
  musigSyntheticXpub,
  parseDescriptor,
  parseWalletPolicyTemplate,
  printDescriptor,
} from '../src/descriptor/index.ts';
import { encodeExtendedPublicKey } from '../src/keys/index.ts';

const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Bip388 {
  valid_policies: { name: string; descriptor_template: string; keys_info: string[]; descriptor: string }[];
  invalid_policies: { descriptor_template: string; reason: string }[];
  example_templates: { descriptor_template: string; description: string }[];
}
const bip388 = readVectorJson<Bip388>('BIP-388/bip388_wallet_policies.json');

const REASON_CODES: [RegExp, string][] = [
  [/no path/i, 'wallet_policy.no_derivation'],
  [/explicit path/i, 'wallet_policy.explicit_path'],
  [/out of order/i, 'wallet_policy.order'],
  [/skipped/i, 'wallet_policy.skipped_key'],
  [/repeated|non-disjoint/i, 'wallet_policy.repeated_key'],
  [/non-KP key/i, 'wallet_policy.literal_key'],
  [/cardinality/i, 'wallet_policy.cardinality'],
  [/derivation before aggregation/i, 'wallet_policy.musig_derivation'],
];

describe('BIP-388 wallet policies', () => {
  it('has cases', () => {
    expect(bip388.valid_policies.length + bip388.invalid_policies.length + bip388.example_templates.length).toBeGreaterThan(0);
  });
  for (const v of bip388.valid_policies) {
    it(`valid: ${v.name}`, () => {
      const policy = createWalletPolicy(v.descriptor_template, v.keys_info);
      expect(policy.descriptor).toBe(v.descriptor);
      // The expanded descriptor parses and prints back, unless it uses miniscript, which must be
      // refused with a typed 'unsupported' error rather than anything else.
      let parsed: string | MofnError;
      try {
        parsed = printDescriptor(parseDescriptor(v.descriptor));
      } catch (err) {
        parsed = err as MofnError;
      }
      if (typeof parsed === 'string') expect(parsed).toBe(v.descriptor);
      else {
        expect(parsed).toBeInstanceOf(MofnError);
        expect(parsed.code).toBe('descriptor.unsupported');
        expect(v.descriptor).toMatch(/\b(thresh|or_d|or_b|and_v|older)\(/);
      }
    });
  }
  for (const v of bip388.invalid_policies) {
    it(`invalid: ${v.reason}`, () => {
      const code = REASON_CODES.find(([re]) => re.test(v.reason))?.[1];
      expect(code, v.reason).toBeDefined();
      let got: unknown;
      try {
        parseWalletPolicyTemplate(v.descriptor_template);
      } catch (err) {
        got = err;
      }
      expect(got).toBeInstanceOf(MofnError);
      expect((got as MofnError).code).toBe(code);
    });
  }
  for (const v of bip388.example_templates) {
    it(`example template: ${v.description}`, () => {
      const keySlots = parseWalletPolicyTemplate(v.descriptor_template);
      expect(keySlots.length).toBeGreaterThan(0);
    });
  }
  it('checks the key information vector', () => {
    const [first] = bip388.valid_policies;
    expect(() => createWalletPolicy(first!.descriptor_template, [])).toThrow(expect.objectContaining({ code: 'wallet_policy.key_count' }));
    expect(() => createWalletPolicy(first!.descriptor_template, [`${first!.keys_info[0]!}/0/*`])).toThrow(
      expect.objectContaining({ code: 'wallet_policy.bad_key_info' }),
    );
  });
});

describe('BIP-327 KeyAgg and BIP-328 aggregate xpubs (behind BIP-390 musig())', () => {
  it('matches the BIP-327 key aggregation vectors', () => {
    const v = readVectorJson<{ pubkeys: string[]; valid_test_cases: { key_indices: number[]; expected: string }[] }>('BIP-327/key_agg_vectors.json');
    expect(v.valid_test_cases.length).toBeGreaterThan(0);
    for (const c of v.valid_test_cases) {
      const agg = musigKeyAgg(c.key_indices.map((i) => fromHex(v.pubkeys[i]!)));
      expect(hex(agg.subarray(1)).toUpperCase()).toBe(c.expected);
    }
  });

  it('matches the BIP-327 key sort vectors', () => {
    const v = readVectorJson<{ pubkeys: string[]; sorted_pubkeys: string[] }>('BIP-327/key_sort_vectors.json');
    expect(musigKeySort(v.pubkeys.map(fromHex)).map((k) => hex(k).toUpperCase())).toEqual(v.sorted_pubkeys.map((k) => k.toUpperCase()));
  });

  it('matches the BIP-328 synthetic xpubs', () => {
    const v = readVectorJson<{ aggregate_pubkey: string; keys: string[]; xpub: string }[]>('BIP-328/vectors.json');
    expect(v.length).toBeGreaterThan(0);
    for (const c of v) {
      const agg = musigKeyAgg(c.keys.map(fromHex));
      expect(hex(agg)).toBe(c.aggregate_pubkey.toLowerCase());
      expect(encodeExtendedPublicKey(musigSyntheticXpub(agg), 'main')).toBe(c.xpub);
    }
  });
});
