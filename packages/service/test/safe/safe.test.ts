/**
 * Safe use cases over the store and a real anvil chain with the real Safe v1.4.1 contracts: create,
 * import, propose (ETH, ERC-20, batch, owners, rejection), review, sign, hostile signatures refused with
 * nothing stored, M-1 signatures refused before sending, execution and the nonce queue.
 */
import { encodeFunctionData, parseEther, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMofnError } from '@mofn/core';
import { ERC20_ABI, getSafeTxHash, readErc20Balance, readSafe, signSafeTxEip712, signSafeTxEthSign } from '@mofn/ethereum';
import { createContext, openStore, type ServiceContext, type Store } from '../../src/index.ts';
import {
  addSafeSignature,
  createStoredSafe,
  executeSafeProposal,
  getSafeTypedDataJson,
  importStoredSafe,
  listSafeProposals,
  parseSafeSignatureFile,
  parseTokenAmount,
  proposeSafeTx,
  reviewSafeProposal,
  showSafe,
  signSafeProposal,
} from '../../src/safe/index.ts';
import { deployTestToken, freshAddress, rawOwners, send, startTestChain, type TestChain } from './support.ts';

let tc: TestChain;
let store: Store;
let ctx: ServiceContext;

async function codeOfAsync(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (!isMofnError(err)) throw err;
    return err.code;
  }
  return 'no error';
}

async function snapshot(): Promise<string> {
  const out: unknown[] = [];
  for (const t of ['safes', 'safe_proposals', 'safe_signatures'] as const) out.push(await ctx.db.selectFrom(t).selectAll().execute());
  return JSON.stringify(out);
}

beforeAll(async () => {
  tc = await startTestChain();
  store = await openStore({ file: ':memory:' });
  ctx = createContext(store);
});
afterAll(async () => {
  await store.close();
  await tc.chain.stop();
});

describe('Safe service: 2-of-3 ETH transfer', () => {
  const owners = rawOwners(3, 'eth');
  const recipient = freshAddress('eth-1');

  it('creates, proposes, refuses an unacknowledged danger and M-1 signatures, executes with M', async () => {
    const created = await createStoredSafe(ctx, { name: 'family', owners: owners.map((o) => o.address), threshold: 2, chainId: tc.chain.chainId, rpcUrl: tc.chain.rpcUrl, saltNonce: 1n });
    expect(created.safe.threshold).toBe(2);
    expect(created.safe.owners).toHaveLength(3);
    await send(tc, created.safe.address, parseEther('5'));

    const review = await proposeSafeTx(ctx, { safe: 'family', spec: { kind: 'eth', to: recipient, value: parseEther('1') } });
    expect(review.proposal.id).toBe(1);
    expect(review.safeTxHash).toBe(getSafeTxHash({ chainId: tc.chain.chainId, safeAddress: created.safe.address }, review.tx));
    expect(review.tx.nonce).toBe(0n);
    expect(review.dangers).toEqual(['safe.new_recipient']);
    expect(review.outputs).toEqual([expect.objectContaining({ to: recipient, amount: parseEther('1'), asset: 'ETH' })]);

    expect(await codeOfAsync(signSafeProposal(ctx, { safe: 'family', id: 1, signer: owners[0]! }))).toBe('safe.unacknowledged_danger');
    const first = await signSafeProposal(ctx, { safe: 'family', id: 1, signer: owners[0]!, acknowledged: ['safe.new_recipient'] });
    expect(first).toMatchObject({ owner: owners[0]!.address, kind: 'eip712', count: 1, threshold: 2 });
    expect(await codeOfAsync(signSafeProposal(ctx, { safe: 'family', id: 1, signer: owners[0]!, acknowledged: ['safe.new_recipient'] }))).toBe('safe.duplicate_signer');

    // M-1 signatures: refused before anything is sent (no block mined, nonce unchanged).
    const blockBefore = await tc.clients.public.getBlockNumber();
    expect(await codeOfAsync(executeSafeProposal(ctx, { safe: 'family', id: 1 }))).toBe('safe.not_enough_signatures');
    expect(await tc.clients.public.getBlockNumber()).toBe(blockBefore);

    // The second owner signs elsewhere from the exported typed data, and the file is imported.
    const { typedData } = await getSafeTypedDataJson(ctx, { safe: 'family', id: 1 });
    expect(typedData['primaryType']).toBe('SafeTx');
    const sig = await signSafeTxEip712(owners[2]!.key, { chainId: tc.chain.chainId, safeAddress: created.safe.address }, review.tx);
    const imported = await addSafeSignature(ctx, { safe: 'family', id: review.safeTxHash.slice(0, 12), signature: parseSafeSignatureFile(JSON.stringify(sig)) });
    expect(imported.count).toBe(2);

    const before = await tc.clients.public.getBalance({ address: recipient });
    const done = await executeSafeProposal(ctx, { safe: 'family', id: 1 });
    expect(done.gasUsed).toBeGreaterThan(0n);
    expect(done.gasEstimate).toBeGreaterThanOrEqual(done.gasUsed);
    expect((await tc.clients.public.getBalance({ address: recipient })) - before).toBe(parseEther('1'));
    const after = await reviewSafeProposal(ctx, { safe: 'family', id: 1 });
    expect(after.proposal.state).toBe('executed');
    expect(after.proposal.execTxHash).toBe(done.txHash);
    expect(await codeOfAsync(executeSafeProposal(ctx, { safe: 'family', id: 1 }))).toBe('safe.proposal_closed');

    // The recipient is now known: paying it again raises no danger.
    const again = await proposeSafeTx(ctx, { safe: 'family', spec: { kind: 'eth', to: recipient, value: 1n } });
    expect(again.dangers).toEqual([]);
    expect(again.tx.nonce).toBe(1n);
  });

  it('refuses hostile signatures with their own code and stores nothing', async () => {
    const safe = (await showSafe(ctx, 'family')).safe;
    const review = await proposeSafeTx(ctx, { safe: 'family', spec: { kind: 'eth', to: freshAddress('eth-2'), value: 5n }, nonce: 1n });
    const id = review.proposal.id;
    const domain = { chainId: tc.chain.chainId, safeAddress: safe.address };
    const stranger = rawOwners(1, 'stranger')[0]!;
    const before = await snapshot();
    const cases: [string, () => Promise<unknown>][] = [
      ['safe.wrong_chain_id', () => signSafeTxEip712(owners[0]!.key, { ...domain, chainId: 1 }, review.tx).then((s) => addSafeSignature(ctx, { safe: 'family', id, signature: s }))],
      ['safe.wrong_safe', () => signSafeTxEip712(owners[0]!.key, { ...domain, safeAddress: stranger.address }, review.tx).then((s) => addSafeSignature(ctx, { safe: 'family', id, signature: s }))],
      ['safe.wrong_owner', () => signSafeTxEip712(stranger.key, domain, review.tx).then((s) => addSafeSignature(ctx, { safe: 'family', id, signature: s }))],
      // Unlabelled, for another nonce: recovers to someone else than it claims.
      ['safe.signer_mismatch', () => signSafeTxEip712(owners[0]!.key, domain, { ...review.tx, nonce: 9n }).then((s) => addSafeSignature(ctx, { safe: 'family', id, signature: { signer: s.signer, data: s.data } }))],
      ['safe.bad_signature', () => addSafeSignature(ctx, { safe: 'family', id, signature: { signer: owners[0]!.address, data: '0x1234' } })],
      ['safe.hash_not_approved', () => addSafeSignature(ctx, { safe: 'family', id, signature: { signer: owners[1]!.address, data: `0x${'0'.repeat(24)}${owners[1]!.address.slice(2).toLowerCase()}${'0'.repeat(64)}01` } })],
      ['safe.wrong_owner', () => signSafeProposal(ctx, { safe: 'family', id, signer: stranger, acknowledged: ['safe.new_recipient'] })],
    ];
    for (const [code, p] of cases) expect(await codeOfAsync(p()), code).toBe(code);
    expect(() => parseSafeSignatureFile('{"signer": 1, "data": "0x"}')).toThrow(expect.objectContaining({ code: 'safe.bad_signature_file' }));
    expect(await snapshot()).toBe(before);
    // An eth_sign signature (v + 4) from an owner is accepted; a second one by the same owner is not.
    const ethSign = await signSafeTxEthSign(owners[1]!.key, domain, review.tx);
    expect((await addSafeSignature(ctx, { safe: 'family', id, signature: ethSign })).kind).toBe('eth_sign');
    expect(await codeOfAsync(addSafeSignature(ctx, { safe: 'family', id, signature: await signSafeTxEip712(owners[1]!.key, domain, review.tx) }))).toBe('safe.duplicate_signer');
  });

  it('queues proposals per nonce; executing a rejection supersedes the rest', async () => {
    const queue = await listSafeProposals(ctx, 'family');
    const group = queue.groups.find((g) => g.nonce === 1n)!;
    expect(group.status).toBe('next');
    expect(group.proposals.length).toBe(2);
    const reject = await proposeSafeTx(ctx, { safe: 'family', spec: { kind: 'reject', nonce: 1n } });
    expect(reject.dangers).toEqual([]);
    for (const o of [owners[0]!, owners[1]!]) await signSafeProposal(ctx, { safe: 'family', id: reject.proposal.id, signer: o });
    const done = await executeSafeProposal(ctx, { safe: 'family', id: reject.proposal.id });
    expect([...done.superseded].sort()).toEqual(group.proposals.map((p) => p.id).sort());
    const after = await listSafeProposals(ctx, 'family');
    expect(after.nonce).toBe(2n);
    expect(after.groups.find((g) => g.nonce === 1n)!.proposals.map((p) => p.state).sort()).toEqual(['executed', 'superseded', 'superseded']);
    expect(await codeOfAsync(signSafeProposal(ctx, { safe: 'family', id: group.proposals[0]!.id, signer: owners[2]!, acknowledged: ['safe.new_recipient'] }))).toBe('safe.proposal_closed');
    expect(await codeOfAsync(proposeSafeTx(ctx, { safe: 'family', spec: { kind: 'reject', nonce: 0n } }))).toBe('safe.nonce_used');
  });
});

describe('Safe service: 3-of-5, ERC-20, batch, owners, import', () => {
  const owners = rawOwners(5, 'erc20');
  let token: Address;
  let safeAddress: Address;

  async function signAndExec(id: number, signers: typeof owners, ack: string[] = []): Promise<void> {
    for (const o of signers) await signSafeProposal(ctx, { safe: 'treasury', id, signer: o, acknowledged: ack });
    await executeSafeProposal(ctx, { safe: 'treasury', id });
  }

  it('transfers an ERC-20 amount given in whole tokens', async () => {
    const created = await createStoredSafe(ctx, { name: 'treasury', owners: owners.map((o) => o.address), threshold: 3, chainId: tc.chain.chainId, rpcUrl: tc.chain.rpcUrl });
    safeAddress = created.safe.address;
    token = await deployTestToken(tc);
    const fund = await tc.clients.wallet.writeContract({ account: tc.funder, chain: tc.clients.chain, address: token, abi: ERC20_ABI, functionName: 'transfer', args: [safeAddress, 10n ** 14n] });
    await tc.clients.public.waitForTransactionReceipt({ hash: fund });
    const to = freshAddress('erc20-1');
    const review = await proposeSafeTx(ctx, { safe: 'treasury', spec: { kind: 'erc20', token, to, amount: '0.00001' } });
    expect(review.summary).toContain('0.00001 TT');
    expect(review.outputs).toEqual([expect.objectContaining({ to, amount: 10n ** 13n, asset: token })]);
    await signAndExec(review.proposal.id, [owners[4]!, owners[1]!, owners[2]!], ['safe.new_recipient']);
    expect(await readErc20Balance(tc.clients, token, to)).toBe(10n ** 13n);
  });

  it('runs a MultiSend batch and a contract call from an ABI', async () => {
    await send(tc, safeAddress, parseEther('1'));
    const a = freshAddress('batch-a');
    const b = freshAddress('batch-b');
    const batch = await proposeSafeTx(ctx, {
      safe: 'treasury',
      spec: { kind: 'batch', calls: [{ to: a, value: 7n }, { to: token, data: encodeFunctionData({ abi: ERC20_ABI, functionName: 'transfer', args: [b, 3n] }) }] },
    });
    expect(batch.call.kind).toBe('multisend');
    expect(batch.dangers).toEqual(['safe.new_recipient']);
    await signAndExec(batch.proposal.id, owners.slice(0, 3), ['safe.new_recipient']);
    expect(await tc.clients.public.getBalance({ address: a })).toBe(7n);
    expect(await readErc20Balance(tc.clients, token, b)).toBe(3n);

    const abi = [{ type: 'function', name: 'approve', stateMutability: 'nonpayable', inputs: [{ name: 'spender', type: 'address' }, { name: 'amount', type: 'uint256' }], outputs: [{ type: 'bool' }] }];
    const call = await proposeSafeTx(ctx, { safe: 'treasury', spec: { kind: 'call', to: token, abi, function: 'approve(address,uint256)', args: [a, '1000'] } });
    expect(call.proposal.meta.function).toBe('approve(address,uint256)');
    expect(call.proposal.meta.args).toEqual([`"${a}"`, '"1000"']);
    expect(call.dangers).toEqual([]);
    expect(call.warnings.map((w) => w.code)).toContain('safe.token_approval');
    expect(await codeOfAsync(proposeSafeTx(ctx, { safe: 'treasury', spec: { kind: 'call', to: token, abi, function: 'nope', args: [] } }))).toBe('safe.bad_call');
  });

  it('swaps an owner and changes the threshold on chain', async () => {
    // Clear the queue first: the approve call at the current nonce is rejected.
    const queue = await listSafeProposals(ctx, 'treasury');
    const next = queue.groups.find((g) => g.status === 'next')!;
    const reject = await proposeSafeTx(ctx, { safe: 'treasury', spec: { kind: 'reject', nonce: next.nonce } });
    await signAndExec(reject.proposal.id, owners.slice(2, 5));
    const newcomer = rawOwners(1, 'newcomer')[0]!;
    const swap = await proposeSafeTx(ctx, { safe: 'treasury', spec: { kind: 'swap_owner', oldOwner: owners[0]!.address, newOwner: newcomer.address } });
    expect(swap.dangers).toEqual(['safe.owner_change']);
    await signAndExec(swap.proposal.id, owners.slice(1, 4), ['safe.owner_change']);
    const threshold = await proposeSafeTx(ctx, { safe: 'treasury', spec: { kind: 'threshold', threshold: 2 } });
    expect(threshold.dangers).toEqual(['safe.threshold_change']);
    // The removed owner can no longer sign.
    expect(await codeOfAsync(signSafeProposal(ctx, { safe: 'treasury', id: threshold.proposal.id, signer: owners[0]!, acknowledged: ['safe.threshold_change'] }))).toBe('safe.wrong_owner');
    await signAndExec(threshold.proposal.id, [newcomer, owners[1]!, owners[2]!], ['safe.threshold_change']);
    const state = await readSafe(tc.clients, safeAddress);
    expect(state.threshold).toBe(2);
    expect(state.owners).toContain(newcomer.address);
    expect(state.owners).not.toContain(owners[0]!.address);
    const shown = await showSafe(ctx, 'treasury');
    expect(shown.safe.threshold).toBe(2);
  });

  it('imports a Safe; refuses a contract that is not a known Safe and a second name for the same Safe', async () => {
    expect(await codeOfAsync(importStoredSafe(ctx, { name: 'again', address: safeAddress, chainId: tc.chain.chainId, rpcUrl: tc.chain.rpcUrl }))).toBe('safe.exists');
    expect(await codeOfAsync(importStoredSafe(ctx, { name: 'token', address: token, chainId: tc.chain.chainId, rpcUrl: tc.chain.rpcUrl }))).toBe('safe.unknown_singleton');
    expect(await codeOfAsync(importStoredSafe(ctx, { name: 'other', address: safeAddress, chainId: 1, rpcUrl: tc.chain.rpcUrl }))).toBe('chain.wrong_chain_id');
    expect(await codeOfAsync(importStoredSafe(ctx, { name: 'bad name!', address: safeAddress, chainId: tc.chain.chainId, rpcUrl: tc.chain.rpcUrl }))).toBe('safe.bad_name');
    const other = rawOwners(2, 'import');
    const created = await createStoredSafe(ctx, { name: 'to-import', owners: other.map((o) => o.address), threshold: 1, chainId: tc.chain.chainId, rpcUrl: tc.chain.rpcUrl, saltNonce: 5n });
    await ctx.db.deleteFrom('safes').where('name', '=', 'to-import').execute();
    const { safe, imported } = await importStoredSafe(ctx, { name: 'imported', address: created.safe.address.toLowerCase(), chainId: tc.chain.chainId, rpcUrl: tc.chain.rpcUrl });
    expect(safe.address).toBe(created.safe.address);
    expect(imported.version).toBe('1.4.1');
    expect(imported.singleton.name).toBe('Safe');
  });

  it('parses token amounts without rounding', () => {
    expect(parseTokenAmount('12.5', 18)).toBe(125n * 10n ** 17n);
    expect(parseTokenAmount('3', 0)).toBe(3n);
    for (const bad of ['1.5', '-1', '1e3', '', '0x10']) expect(() => parseTokenAmount(bad, 0)).toThrow(expect.objectContaining({ code: 'safe.bad_amount' }));
  });
});
