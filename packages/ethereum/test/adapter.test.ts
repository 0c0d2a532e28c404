// The Safe ChainAdapter driven with core's proposal workflow, on anvil with the real Safe v1.4.1 contracts.
import { getAddress, keccak256, parseEther, toHex, zeroAddress, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotReadyError, SYSTEM_ACTOR, addSignatures, createProposal, pendingSystemEvent, transition, type SignatureEntry } from '@mofn/core';
import { createSafeAdapter, type SafeAdapter } from '../src/safe/adapter.ts';
import { readSafe } from '../src/safe/read.ts';
import { createSafeTx, getSafeDomainSeparator, getSafeTxHash } from '../src/safe/safeTx.ts';
import { encodeApprovedHashSignature, signSafeTxEip712, signSafeTxEthSign } from '../src/safe/signatures.ts';
import { newFundedSafe, ownerKeys, startSafeChain, type SafeChain } from './support/safeChain.ts';

const recipient: Address = getAddress(keccak256(toHex('mofn-adapter-recipient')).slice(0, 42));
const names = ['alice', 'bob', 'carol'] as const;

let sc: SafeChain;
beforeAll(async () => {
  sc = await startSafeChain();
});
afterAll(async () => {
  await sc.chain.stop();
});

async function adapterFor(tag: string, salt: bigint): Promise<{ adapter: SafeAdapter; keys: ReturnType<typeof ownerKeys>; safeAddress: Address }> {
  const keys = ownerKeys(3, tag);
  const safe = await newFundedSafe(sc, keys.map((k) => k.address), 2, salt);
  const adapter = createSafeAdapter(sc.clients, {
    safeAddress: safe.address,
    chainId: sc.chain.chainId,
    owners: keys.map((k, i) => ({ address: k.address, cosigner: names[i]! })),
    threshold: 2,
    executor: sc.executor,
  });
  return { adapter, keys, safeAddress: safe.address };
}

describe('Safe chain adapter with the core proposal workflow', () => {
  it('moves ETH out of a 2-of-3 Safe: collecting -> ready -> broadcast -> confirmed', async () => {
    const { adapter, keys, safeAddress } = await adapterFor('adapter-flow', 101n);
    const domain = { chainId: sc.chain.chainId, safeAddress };
    const tx = createSafeTx({ to: recipient, value: parseEther('1.5'), nonce: 0n });

    const review = adapter.describe(tx);
    expect(review.chain).toBe(`eip155:${sc.chain.chainId}`);
    expect(review.inputCount).toBe(1);
    expect(review.outputs).toEqual([{ to: recipient, amount: parseEther('1.5'), asset: 'ETH', isChange: false }]);
    expect(review.safeTxHash).toBe(getSafeTxHash(domain, tx));
    expect(review.domainSeparator).toBe(getSafeDomainSeparator(domain));
    expect(review.warnings.map((w) => w.code)).toEqual(['safe.tx_hash', 'safe.domain_separator']);
    expect(review.warnings[0]!.message).toContain(review.safeTxHash);
    expect(review.warnings[1]!.message).toContain(review.domainSeparator);
    expect(review.spends).toEqual([`eip155:${sc.chain.chainId}:${safeAddress.toLowerCase()}:nonce:0`]);

    let p = createProposal({ id: 'safe-1', proposer: 'alice', threshold: 2, cosigners: [...names], inputCount: review.inputCount, now: 1_000, ttlMs: 60_000 });
    const submit = async (i: number, eth = false): Promise<SignatureEntry> => {
      const sig = eth ? await signSafeTxEthSign(keys[i]!.key, domain, tx) : await signSafeTxEip712(keys[i]!.key, domain, tx);
      const entry = adapter.entryOf(sig);
      expect(adapter.verifySignature(tx, entry)).toBe(true);
      return entry;
    };

    // Carol (EIP-712) signs first: one of two.
    p = addSignatures(p, [await submit(2)], 2_000).proposal;
    expect(adapter.countValid(tx, p.signatures)).toMatchObject({ ready: false, inputs: [{ input: 0, signers: ['carol'], missing: 1 }] });
    expect(pendingSystemEvent(p, 2_000)).toBeUndefined();
    expect(() => adapter.finalize(tx, p.signatures)).toThrow(expect.objectContaining({ code: 'safe.not_enough_signatures' }));
    expect(() => transition(p, 'complete', SYSTEM_ACTOR, 2_000)).toThrow(expect.objectContaining({ code: 'proposal.not_ready' }));

    // Alice (eth_sign) signs: two of two.
    p = addSignatures(p, [await submit(0, true)], 3_000).proposal;
    const readiness = adapter.countValid(tx, p.signatures);
    expect(readiness).toMatchObject({ ready: true, inputs: [{ input: 0, signers: ['alice', 'carol'], missing: 0 }], ignored: [] });
    expect(pendingSystemEvent(p, 3_000)).toBe('complete');
    p = transition(p, 'complete', SYSTEM_ACTOR, 3_000).proposal;
    expect(p.state).toBe('ready');

    const final = adapter.finalize(tx, p.signatures);
    expect(final.signatures.map((s) => s.signer)).toEqual(
      [keys[0]!.address, keys[2]!.address].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)),
    );
    expect(final.encodedSignatures.length).toBe(2 + 2 * 65 * 2);

    const before = await sc.clients.public.getBalance({ address: recipient });
    const sent = await adapter.broadcast(final);
    p = transition(p, 'broadcast', { kind: 'user', id: 'alice' }, 4_000).proposal;
    expect(p.state).toBe('broadcast');
    const receipt = await sc.clients.public.getTransactionReceipt({ hash: sent.txid as `0x${string}` });
    expect(receipt.status).toBe('success');
    expect(sent.safeTxHash).toBe(review.safeTxHash);
    p = transition(p, 'confirm', SYSTEM_ACTOR, 5_000).proposal;
    expect(p.state).toBe('confirmed');

    expect(await sc.clients.public.getBalance({ address: recipient })).toBe(before + parseEther('1.5'));
    expect(await sc.clients.public.getBalance({ address: safeAddress })).toBe(parseEther('8.5'));
    expect((await readSafe(sc.clients, safeAddress)).nonce).toBe(1n);
    // The same finalized transaction cannot be replayed: the Safe's nonce moved on.
    await expect(adapter.broadcast(final)).rejects.toMatchObject({ code: 'safe.wrong_nonce' });
  });

  it('M-1 signatures cannot finalize, even when the set carries invalid or repeated ones', async () => {
    const { adapter, keys, safeAddress } = await adapterFor('adapter-short', 102n);
    const domain = { chainId: sc.chain.chainId, safeAddress };
    const tx = createSafeTx({ to: recipient, value: 1n, nonce: 0n });
    const other = createSafeTx({ to: recipient, value: 2n, nonce: 0n });
    const good = adapter.entryOf(await signSafeTxEip712(keys[1]!.key, domain, tx));
    // Alice's signature of another transaction: well-formed, verifies nowhere but there.
    const wrongTx = adapter.entryOf(await signSafeTxEip712(keys[0]!.key, domain, other));
    expect(adapter.verifySignature(tx, wrongTx)).toBe(false);
    expect(adapter.verifySignature(other, wrongTx)).toBe(true);
    const set = [good, wrongTx];
    const r = adapter.countValid(tx, set);
    expect(r).toMatchObject({ ready: false, inputs: [{ signers: ['bob'], missing: 1 }], ignored: [wrongTx] });
    expect(() => adapter.finalize(tx, set)).toThrow(NotReadyError);
    expect(() => adapter.finalize(tx, set)).toThrow(expect.objectContaining({ code: 'safe.not_enough_signatures' }));
    // Bob's signature claimed by Carol's cosigner id does not count twice.
    expect(adapter.verifySignature(tx, { ...good, cosigner: 'carol' })).toBe(false);
    expect(() => adapter.finalize(tx, [good, { ...good, cosigner: 'carol' }])).toThrow(expect.objectContaining({ code: 'safe.not_enough_signatures' }));
    // The same owner twice (EIP-712 and eth_sign, a set core itself would refuse to merge) is one owner.
    const again = adapter.entryOf(await signSafeTxEthSign(keys[1]!.key, domain, tx));
    expect(adapter.verifySignature(tx, again)).toBe(true);
    expect(adapter.countValid(tx, [good, again])).toMatchObject({ ready: false, inputs: [{ signers: ['bob'], missing: 1 }] });
    expect(() => adapter.finalize(tx, [good, again])).toThrow(expect.objectContaining({ code: 'safe.not_enough_signatures' }));
    // Nothing was sent.
    expect((await readSafe(sc.clients, safeAddress)).nonce).toBe(0n);
  });

  it('refuses a signature made for another chain in verifySignature (and in entryOf by its label)', async () => {
    const { adapter, keys, safeAddress } = await adapterFor('adapter-chain', 103n);
    const tx = createSafeTx({ to: recipient, value: 1n, nonce: 0n });
    const foreign = await signSafeTxEip712(keys[0]!.key, { chainId: 1, safeAddress }, tx);
    expect(() => adapter.entryOf(foreign)).toThrow(expect.objectContaining({ code: 'safe.wrong_chain_id' }));
    const entry: SignatureEntry = { input: 0, publicKey: keys[0]!.address.toLowerCase(), cosigner: 'alice', signature: foreign.data.slice(2) };
    expect(adapter.verifySignature(tx, entry)).toBe(false);
    // Control: the same owner's signature for this chain is accepted.
    const home = await signSafeTxEip712(keys[0]!.key, { chainId: sc.chain.chainId, safeAddress }, tx);
    expect(adapter.verifySignature(tx, adapter.entryOf(home))).toBe(true);
    // Malformed entries are false, never a throw.
    for (const bad of [{ ...entry, input: 1 }, { ...entry, signature: 'zz' }, { ...entry, publicKey: 'nope' }, { ...entry, cosigner: 'mallory' }]) {
      expect(adapter.verifySignature(tx, bad)).toBe(false);
    }
    // An approved hash cannot be checked offline: it counts only for the executor (not an owner here).
    const approved = { ...entry, signature: encodeApprovedHashSignature(keys[0]!.address).slice(2) };
    expect(adapter.verifySignature(tx, approved)).toBe(false);
    // A non-owner's signature has no entry.
    const stranger = ownerKeys(1, 'adapter-stranger')[0]!;
    expect(() => adapter.entryOf({ signer: stranger.address, data: foreign.data })).toThrow(
      expect.objectContaining({ code: 'safe.wrong_owner' }),
    );
    // Bare owner addresses are their own (lowercase) cosigner ids; a bad threshold is refused.
    const bare = createSafeAdapter(sc.clients, { safeAddress, chainId: sc.chain.chainId, owners: keys.map((k) => k.address), threshold: 2, executor: sc.executor });
    expect(bare.entryOf(home).cosigner).toBe(keys[0]!.address.toLowerCase());
    expect(bare.verifySignature(tx, bare.entryOf(home))).toBe(true);
    expect(() => createSafeAdapter(sc.clients, { safeAddress, chainId: sc.chain.chainId, owners: keys.map((k) => k.address), threshold: 4, executor: sc.executor })).toThrow(
      expect.objectContaining({ code: 'safe.bad_adapter_config' }),
    );
    // Clients on another chain are refused at creation.
    expect(() => createSafeAdapter(sc.clients, { safeAddress, chainId: 1, owners: keys.map((k) => k.address), threshold: 2, executor: sc.executor })).toThrow(
      expect.objectContaining({ code: 'chain.wrong_chain_id' }),
    );
  });

  it('describe flags a delegatecall, calldata, and a gas refund in a token to a third party', async () => {
    const { adapter, safeAddress } = await adapterFor('adapter-describe', 104n);
    const target = getAddress(keccak256(toHex('mofn-delegate-target')).slice(0, 42));
    const plain = adapter.describe(createSafeTx({ to: target, value: 0n, nonce: 3n }));
    expect(plain.warnings.map((w) => w.code)).toEqual(['safe.tx_hash', 'safe.domain_separator']);
    const delegate = adapter.describe(createSafeTx({ to: target, data: '0xa9059cbb', operation: 1, nonce: 3n }));
    expect(delegate.warnings.map((w) => w.code)).toEqual(['safe.tx_hash', 'safe.domain_separator', 'safe.delegatecall', 'safe.unknown_calldata']);
    expect(delegate.warnings[2]!.message).toContain(target);
    const refund = adapter.describe(createSafeTx({ to: target, nonce: 3n, gasPrice: 1n, gasToken: recipient, refundReceiver: recipient }));
    expect(refund.warnings.map((w) => w.code)).toEqual(['safe.tx_hash', 'safe.domain_separator', 'safe.gas_refund', 'safe.gas_token', 'safe.refund_receiver']);
    const self = adapter.describe(createSafeTx({ to: safeAddress, value: 1n, data: '0x0d582f13', nonce: 3n }));
    expect(self.warnings.map((w) => w.code)).toContain('safe.self_call');
    expect(self.outputs[0]).toMatchObject({ to: safeAddress, isChange: true });
    // Same nonce, same spend id: the two proposals supersede each other.
    expect(delegate.spends).toEqual(refund.spends);
    expect(() => adapter.describe({ ...createSafeTx({ to: target, nonce: 0n }), refundReceiver: zeroAddress.slice(0, 10) as Address })).toThrow(
      expect.objectContaining({ code: 'safe.bad_transaction' }),
    );
  });
});
