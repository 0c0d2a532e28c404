// ERC-20 transfers, MultiSend batches, owner management and the nonce queue, on anvil with the real Safe v1.4.1 contracts.
import { encodeFunctionData, getAddress, keccak256, parseEther, toHex, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MULTISEND_ABI } from '../src/safe/abi.ts';
import { createSafeAdapter } from '../src/safe/adapter.ts';
import { createErc20Transfer, readErc20Balance, readErc20Info } from '../src/safe/erc20.ts';
import { executeSafeTx } from '../src/safe/execute.ts';
import { encodeMultiSend, encodeMultiSendTransactions, createMultiSendTx, type MultiSendCall } from '../src/safe/multisend.ts';
import { createAddOwnerTx, createChangeThresholdTx, createRemoveOwnerTx, createSwapOwnerTx, getPrevOwner, SENTINEL_OWNERS } from '../src/safe/owners.ts';
import { assertNonceOpen, createRejectionTx, findExecutedSafeTxHashes, getNonceStatus, isRejectionTx, nonceStatus } from '../src/safe/queue.ts';
import { readSafe } from '../src/safe/read.ts';
import { reviewSafeTx } from '../src/safe/review.ts';
import { createSafeTx, getSafeTxHash, type SafeTx } from '../src/safe/safeTx.ts';
import { signSafeTxEip712 } from '../src/safe/signatures.ts';
import { codeOf } from '../../../test/support/errors.ts';
import { deployTestToken } from './support/artifacts.ts';
import { newFundedSafe, ownerKeys, startSafeChain, type SafeChain } from './support/safeChain.ts';

const addr = (tag: string): Address => getAddress(keccak256(toHex(tag)).slice(0, 42));

let sc: SafeChain;
let token: Address;
beforeAll(async () => {
  sc = await startSafeChain();
  token = await deployTestToken(sc);
});
afterAll(async () => {
  await sc.chain.stop();
});

type Keys = ReturnType<typeof ownerKeys>;

async function signAndExecute(safeAddress: Address, keys: Keys, signers: readonly number[], tx: SafeTx) {
  const domain = { chainId: sc.chain.chainId, safeAddress };
  const signatures = await Promise.all(signers.map((i) => signSafeTxEip712(keys[i]!.key, domain, tx)));
  return executeSafeTx(sc.clients, { safeAddress, tx, signatures, account: sc.executor });
}

async function fundToken(to: Address, amount: bigint): Promise<void> {
  const hash = await sc.clients.wallet.writeContract({
    account: sc.executor,
    chain: sc.clients.chain,
    address: token,
    abi: [{ type: 'function', name: 'transfer', stateMutability: 'nonpayable', inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }], outputs: [{ type: 'bool' }] }],
    functionName: 'transfer',
    args: [to, amount],
  });
  await sc.clients.public.waitForTransactionReceipt({ hash });
}

describe('ERC-20 transfers from a Safe', () => {
  it('reads the token, and moves tokens out of a 3-of-5 Safe as the review says', async () => {
    expect(await readErc20Info(sc.clients, token)).toEqual({ address: token, symbol: 'TT', decimals: 18 });
    await expect(readErc20Info(sc.clients, sc.singletons.multiSendCallOnly)).rejects.toMatchObject({ code: 'erc20.read_failed' });
    const keys = ownerKeys(5, 'erc20');
    const safe = await newFundedSafe(sc, keys.map((k) => k.address), 3, 20n);
    await fundToken(safe.address, 1_000_000n);
    const to = addr('erc20-recipient');
    const tx = createErc20Transfer({ token, to, amount: 250_000n, nonce: 0n });
    const review = reviewSafeTx(tx, { safeAddress: safe.address, threshold: 3 });
    expect(review.outputs).toEqual([{ to, amount: 250_000n, asset: token, isChange: false }]);
    expect(review.dangers).toEqual([]);
    const done = await signAndExecute(safe.address, keys, [4, 0, 2], tx);
    expect(await readErc20Balance(sc.clients, token, to)).toBe(250_000n);
    expect(await readErc20Balance(sc.clients, token, safe.address)).toBe(750_000n);
    console.log(`3-of-5 ERC-20 transfer execTransaction gasUsed: ${done.gasUsed} (estimate ${done.gasEstimate})`);
    // A transfer the token refuses (more than the balance) fails in simulation, before anything is sent.
    const tooMuch = createErc20Transfer({ token, to, amount: 10n ** 12n, nonce: 1n });
    await expect(signAndExecute(safe.address, keys, [0, 1, 2], tooMuch)).rejects.toMatchObject({ code: 'safe.simulation_failed' });
    expect(codeOf(() => createErc20Transfer({ token, to: '0x12', amount: 1n, nonce: 0n }))).toBe('safe.bad_transaction');
    expect(codeOf(() => createErc20Transfer({ token, to, amount: -1n, nonce: 0n }))).toBe('safe.bad_transaction');
  });
});

describe('MultiSend batches', () => {
  it('runs ETH and ERC-20 transfers in one SafeTx through MultiSendCallOnly; the review matches the balances moved', async () => {
    const keys = ownerKeys(3, 'batch');
    const safe = await newFundedSafe(sc, keys.map((k) => k.address), 2, 21n);
    await fundToken(safe.address, 1000n);
    const [a, b] = [addr('batch-a'), addr('batch-b')];
    const calls: MultiSendCall[] = [
      { to: a, value: parseEther('1'), data: '0x', operation: 0 },
      { to: token, value: 0n, data: createErc20Transfer({ token, to: b, amount: 300n, nonce: 0n }).data, operation: 0 },
      { to: b, value: 7n, data: '0x', operation: 0 },
    ];
    const tx = createMultiSendTx({ calls, nonce: 0n, multiSendCallOnly: sc.singletons.multiSendCallOnly });
    const adapter = createSafeAdapter(sc.clients, { safeAddress: safe.address, chainId: sc.chain.chainId, owners: keys.map((k) => k.address), threshold: 2, executor: sc.executor });
    const review = adapter.describe(tx);
    expect(review.dangers).toEqual([]);
    expect(review.call.kind).toBe('multisend');
    expect(review.outputs).toEqual([
      { to: a, amount: parseEther('1'), asset: 'ETH', isChange: false },
      { to: b, amount: 300n, asset: token, isChange: false },
      { to: b, amount: 7n, asset: 'ETH', isChange: false },
    ]);
    await signAndExecute(safe.address, keys, [0, 1], tx);
    expect(await sc.clients.public.getBalance({ address: a })).toBe(parseEther('1'));
    expect(await sc.clients.public.getBalance({ address: b })).toBe(7n);
    expect(await readErc20Balance(sc.clients, token, b)).toBe(300n);
    expect(await sc.clients.public.getBalance({ address: safe.address })).toBe(parseEther('9') - 7n);
  });

  it('MultiSendCallOnly refuses a DELEGATECALL entry on chain; MultiSend runs it (hence the danger flag)', async () => {
    const keys = ownerKeys(3, 'batch-delegate');
    const safe = await newFundedSafe(sc, keys.map((k) => k.address), 2, 22n);
    const c = addr('batch-delegate-target');
    // A DELEGATECALL into MultiSendCallOnly with a batch: harmless code, but a delegatecall all the same.
    const innerBatch = encodeMultiSend([{ to: c, value: 3n, data: '0x', operation: 0 }]);
    const calls: MultiSendCall[] = [{ to: sc.singletons.multiSendCallOnly, value: 0n, data: innerBatch, operation: 1 }];
    const callOnlyTx = createSafeTx({
      to: sc.singletons.multiSendCallOnly,
      data: encodeFunctionData({ abi: MULTISEND_ABI, functionName: 'multiSend', args: [encodeMultiSendTransactions(calls)] }),
      operation: 1,
      nonce: 0n,
    });
    expect(reviewSafeTx(callOnlyTx, { safeAddress: safe.address }).dangers).toEqual(['safe.delegatecall']);
    await expect(signAndExecute(safe.address, keys, [0, 1], callOnlyTx)).rejects.toMatchObject({ code: 'safe.simulation_failed' });
    const fullTx = createSafeTx({ to: sc.singletons.multiSend, data: encodeMultiSend(calls), operation: 1, nonce: 0n });
    expect(reviewSafeTx(fullTx, { safeAddress: safe.address }).dangers).toEqual(['safe.delegatecall']);
    await signAndExecute(safe.address, keys, [1, 2], fullTx);
    expect(await sc.clients.public.getBalance({ address: c })).toBe(3n);
    // MultiSend refuses being CALLed (its self-address immutable, filled in at deployment).
    const direct = createSafeTx({ to: sc.singletons.multiSend, data: encodeMultiSend([{ to: c, value: 0n, data: '0x', operation: 0 }]), nonce: 1n });
    await expect(signAndExecute(safe.address, keys, [0, 1], direct)).rejects.toMatchObject({ code: 'safe.simulation_failed' });
  });
});

describe('owner management proposals', () => {
  it('add, swap, remove owners and change the threshold, each taking effect on chain', async () => {
    const keys = ownerKeys(5, 'governance');
    const initial = keys.slice(0, 3).map((k) => k.address);
    const safe = await newFundedSafe(sc, initial, 2, 23n);
    let state = await readSafe(sc.clients, safe.address);
    const signersOf = (owners: readonly Address[]) => owners.map((o) => keys.findIndex((k) => k.address === o));

    // Add owner 3, raising the threshold to 3.
    const add = createAddOwnerTx(state, { owner: keys[3]!.address, threshold: 3 });
    expect(reviewSafeTx(add, { safeAddress: safe.address, threshold: 2 }).dangers).toEqual(['safe.owner_change', 'safe.threshold_change']);
    await signAndExecute(safe.address, keys, [0, 1], add);
    state = await readSafe(sc.clients, safe.address);
    expect(new Set(state.owners)).toEqual(new Set([...initial, keys[3]!.address]));
    expect(state.threshold).toBe(3);

    // Swap the owner in the middle of the linked list (prevOwner is a real owner) for owner 4.
    const middle = state.owners[1]!;
    expect(getPrevOwner(state, middle)).toBe(state.owners[0]);
    expect(getPrevOwner(state, state.owners[0]!)).toBe(SENTINEL_OWNERS);
    const swap = createSwapOwnerTx(state, { oldOwner: middle, newOwner: keys[4]!.address });
    await signAndExecute(safe.address, keys, signersOf(state.owners.slice(0, 3)), swap);
    state = await readSafe(sc.clients, safe.address);
    expect(state.owners).not.toContain(middle);
    expect(state.owners).toContain(keys[4]!.address);

    // The swapped-out owner can no longer sign.
    const removedKey = keys.findIndex((k) => k.address === middle);
    const probe = createSafeTx({ to: addr('gov-probe'), value: 1n, nonce: state.nonce });
    await expect(signAndExecute(safe.address, keys, [removedKey, ...signersOf(state.owners.slice(0, 2))], probe)).rejects.toMatchObject({ code: 'safe.wrong_owner' });

    // Remove the first owner (prevOwner = sentinel): the threshold follows down to the owner count.
    const first = state.owners[0]!;
    const remove = createRemoveOwnerTx(state, { owner: first, threshold: 2 });
    await signAndExecute(safe.address, keys, signersOf(state.owners.slice(0, 3)), remove);
    state = await readSafe(sc.clients, safe.address);
    expect(state.owners).toHaveLength(3);
    expect(state.owners).not.toContain(first);
    expect(state.threshold).toBe(2);

    // Change the threshold.
    const change = createChangeThresholdTx(state, { threshold: 3 });
    expect(reviewSafeTx(change, { safeAddress: safe.address, threshold: 2 }).dangers).toEqual(['safe.threshold_change']);
    await signAndExecute(safe.address, keys, signersOf(state.owners.slice(0, 2)), change);
    state = await readSafe(sc.clients, safe.address);
    expect(state.threshold).toBe(3);
    expect(state.nonce).toBe(4n);
  });

  it('refuses proposals the contract would revert, before anyone signs', () => {
    const keys = ownerKeys(3, 'governance-bad');
    const state = { address: addr('gov-safe'), owners: keys.map((k) => k.address), threshold: 2, nonce: 0n };
    const stranger = addr('gov-stranger');
    expect(codeOf(() => createAddOwnerTx(state, { owner: keys[0]!.address }))).toBe('safe.duplicate_owner');
    expect(codeOf(() => createAddOwnerTx(state, { owner: SENTINEL_OWNERS }))).toBe('safe.bad_owner');
    expect(codeOf(() => createAddOwnerTx(state, { owner: state.address }))).toBe('safe.bad_owner');
    expect(codeOf(() => createAddOwnerTx(state, { owner: stranger, threshold: 5 }))).toBe('safe.bad_threshold');
    expect(codeOf(() => createAddOwnerTx(state, { owner: '0x12' }))).toBe('address.invalid');
    expect(codeOf(() => createRemoveOwnerTx(state, { owner: stranger }))).toBe('safe.not_an_owner');
    expect(codeOf(() => createRemoveOwnerTx(state, { owner: keys[0]!.address, threshold: 3 }))).toBe('safe.bad_threshold');
    expect(codeOf(() => createRemoveOwnerTx({ ...state, owners: state.owners.slice(0, 1), threshold: 1 }, { owner: keys[0]!.address }))).toBe('safe.bad_threshold');
    expect(codeOf(() => createSwapOwnerTx(state, { oldOwner: stranger, newOwner: addr('x') }))).toBe('safe.not_an_owner');
    expect(codeOf(() => createSwapOwnerTx(state, { oldOwner: keys[0]!.address, newOwner: keys[1]!.address }))).toBe('safe.duplicate_owner');
    expect(codeOf(() => createChangeThresholdTx(state, { threshold: 2 }))).toBe('safe.bad_threshold');
    expect(codeOf(() => createChangeThresholdTx(state, { threshold: 0 }))).toBe('safe.bad_threshold');
    // Default threshold on removal: lowered only when it would exceed the remaining owners.
    const removal = createRemoveOwnerTx({ ...state, threshold: 3 }, { owner: keys[2]!.address });
    expect(reviewSafeTx(removal, { safeAddress: state.address, threshold: 3 }).warnings.map((w) => w.message).join(' ')).toContain('threshold to 2');
  });
});

describe('nonce queue', () => {
  it('a rejection at the same nonce supersedes the other proposals once executed', async () => {
    const keys = ownerKeys(3, 'queue');
    const safe = await newFundedSafe(sc, keys.map((k) => k.address), 2, 24n);
    const domain = { chainId: sc.chain.chainId, safeAddress: safe.address };
    const fromBlock = await sc.clients.public.getBlockNumber();
    const pay = createSafeTx({ to: addr('queue-a'), value: parseEther('1'), nonce: 0n });
    const payMore = createSafeTx({ to: addr('queue-b'), value: parseEther('2'), nonce: 0n });
    const reject = createRejectionTx(safe.address, 0n);
    const later = createSafeTx({ to: addr('queue-c'), value: 1n, nonce: 1n });
    expect(isRejectionTx(safe.address, reject)).toBe(true);
    expect(isRejectionTx(safe.address, pay)).toBe(false);
    expect(isRejectionTx(safe.address, { ...reject, value: 1n })).toBe(false);
    expect(reviewSafeTx(reject, { safeAddress: safe.address }).dangers).toEqual([]);
    for (const tx of [pay, payMore, reject]) expect(await getNonceStatus(sc.clients, safe.address, tx)).toBe('next');
    expect(await getNonceStatus(sc.clients, safe.address, later)).toBe('queued');
    // Everyone signs the payments too; the rejection executes first.
    const paySigs = await Promise.all([0, 1].map((i) => signSafeTxEip712(keys[i]!.key, domain, pay)));
    await signAndExecute(safe.address, keys, [1, 2], reject);
    for (const tx of [pay, payMore, reject]) {
      expect(await getNonceStatus(sc.clients, safe.address, tx)).toBe('stale');
      await expect(assertNonceOpen(sc.clients, safe.address, tx)).rejects.toMatchObject({ code: 'safe.nonce_used' });
    }
    expect(await getNonceStatus(sc.clients, safe.address, later)).toBe('next');
    await expect(assertNonceOpen(sc.clients, safe.address, later)).resolves.toBeUndefined();
    await expect(executeSafeTx(sc.clients, { safeAddress: safe.address, tx: pay, signatures: paySigs, account: sc.executor })).rejects.toMatchObject({ code: 'safe.wrong_nonce' });
    const hashes = [pay, payMore, reject].map((tx) => getSafeTxHash(domain, tx));
    expect(await findExecutedSafeTxHashes(sc.clients, { safeAddress: safe.address, safeTxHashes: hashes, fromBlock })).toEqual([hashes[2]]);
    expect(await sc.clients.public.getBalance({ address: safe.address })).toBe(parseEther('10'));
    expect(nonceStatus(5n, 4n)).toBe('stale');
    expect(nonceStatus(5n, 5n)).toBe('next');
    expect(nonceStatus(5n, 6n)).toBe('queued');
  });
});
