// Offline signature handling: kinds, encoding, order independence, no mutation of inputs.
import fc from 'fast-check';
import { getAddress, keccak256, toHex, type Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { createSafeTx, getSafeTxHash } from '../src/safe/safeTx.ts';
import {
  encodeApprovedHashSignature,
  encodeSafeSignatures,
  signSafeTxEip712,
  signSafeTxEthSign,
  verifySafeSignatures,
  type SafeSignature,
} from '../src/safe/signatures.ts';
import { ownerKeys } from './support/safeChain.ts';

const keys = ownerKeys(5, 'offline');
const owners = keys.map((k) => k.address);
const safeAddress: Address = getAddress(keccak256(toHex('offline-safe')).slice(0, 42));
const domain = { chainId: 10, safeAddress };
const tx = createSafeTx({ to: owners[0]!, value: 123n, nonce: 4n });
const ctx = { ...domain, safeTxHash: getSafeTxHash(domain, tx), owners };

describe('Safe signatures (offline)', () => {
  it('marks EIP-712 with v 27/28 and eth_sign with v 31/32, and recovers both', async () => {
    const a = await signSafeTxEip712(keys[0]!.key, domain, tx);
    const b = await signSafeTxEthSign(keys[1]!.key, domain, tx);
    expect([27, 28]).toContain(Number.parseInt(a.data.slice(-2), 16));
    expect([31, 32]).toContain(Number.parseInt(b.data.slice(-2), 16));
    const verified = verifySafeSignatures(ctx, [a, b]);
    expect(verified.map((v) => [v.signer, v.kind])).toEqual(
      [
        [a.signer, 'eip712'],
        [b.signer, 'eth_sign'],
      ].sort((x, y) => (BigInt(x[0]!) < BigInt(y[0]!) ? -1 : 1)),
    );
  });

  it('encodes an approved hash as r = owner, s = 0, v = 1', () => {
    const data = encodeApprovedHashSignature(owners[2]!);
    expect(data).toBe(`0x${'0'.repeat(24)}${owners[2]!.slice(2).toLowerCase()}${'0'.repeat(64)}01`);
  });

  it('gives the same sorted bytes for any submission order, without touching the input', async () => {
    const sigs: SafeSignature[] = [];
    for (const [i, k] of keys.entries()) sigs.push(await (i % 2 === 0 ? signSafeTxEip712 : signSafeTxEthSign)(k.key, domain, tx));
    const reference = encodeSafeSignatures(verifySafeSignatures(ctx, sigs), 3);
    fc.assert(
      fc.property(fc.shuffledSubarray(sigs, { minLength: 5, maxLength: 5 }), (order) => {
        const copy = order.map((s) => ({ ...s }));
        const verified = verifySafeSignatures(ctx, order);
        expect(encodeSafeSignatures(verified, 3)).toBe(reference);
        expect(order).toEqual(copy);
        const addresses = verified.map((v) => BigInt(v.signer));
        expect(addresses).toEqual([...addresses].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
      }),
      { numRuns: 20 },
    );
    expect((reference.length - 2) / 2).toBe(3 * 65);
  });

  it('refuses fewer than the threshold with safe.not_enough_signatures', async () => {
    const verified = verifySafeSignatures(ctx, [await signSafeTxEip712(keys[0]!.key, domain, tx)]);
    expect(() => encodeSafeSignatures(verified, 2)).toThrow(expect.objectContaining({ code: 'safe.not_enough_signatures' }));
    expect(() => encodeSafeSignatures([...verified, ...verified], 2)).toThrow(expect.objectContaining({ code: 'safe.duplicate_signer' }));
  });
});
