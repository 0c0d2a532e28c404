/**
 * Wallet policies against public vectors: Coldcard's own descriptor exports, the BIP-388
 * multisig example and the BIP-67 sorted-multisig vectors.
 */
import { describe, expect, it } from 'vitest';
import { readVectorJson, readVectorText } from '../../../test/support/vectors.ts';
import { multisigScript } from '../src/descriptor/index.ts';
import { policyFromDescriptor, policyToDescriptor } from '../src/wallet/index.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

describe('policyToDescriptor / policyFromDescriptor on published descriptors', () => {
  it('reproduces Coldcard descriptor exports exactly (single-branch, h markers)', () => {
    for (const [file, type] of [
      ['Coldcard-multisig/desc-p2wsh-myself.txt', 'wsh'],
      ['Coldcard-multisig/desc-p2sh-myself.txt', 'sh'],
    ] as const) {
      const text = readVectorText(file).trim();
      const p = policyFromDescriptor(text);
      expect(p).toMatchObject({ type, threshold: 2, sorted: true, network: 'test' });
      expect(policyToDescriptor(p, { branch: 0 })).toBe(text);
    }
  });

  it('reads the BIP-388 multisig example (apostrophe markers) and prints it with h', () => {
    const data = readVectorJson<{ valid_policies: { name: string; descriptor: string }[] }>('BIP-388/bip388_wallet_policies.json');
    const example = data.valid_policies.find((v) => v.descriptor.startsWith('wsh(sortedmulti('))!;
    const p = policyFromDescriptor(example.descriptor);
    expect(p.network).toBe('main');
    expect(policyToDescriptor(p, { checksum: false })).toBe(example.descriptor.replaceAll("'", 'h'));
  });

});

describe('multisig scripts', () => {
  it('match the BIP-67 vectors', () => {
    const data = readVectorJson<{ vectors: { keys: string[]; sorted_keys: string[]; redeem_script: string; m?: number }[] }>('BIP-67/bip67_test_vectors.json');
    for (const v of data.vectors) {
      const sorted = v.keys.map(fromHex).sort((a, b) => Buffer.compare(a, b));
      expect(sorted.map(hex)).toEqual(v.sorted_keys);
      expect(hex(multisigScript(v.m ?? 2, sorted))).toBe(v.redeem_script);
    }
  });

});
