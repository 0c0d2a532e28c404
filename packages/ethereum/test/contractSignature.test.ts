// EIP-1271 contract signatures: Safes owned by Safes, verified on chain by execTransaction (Safe v1.4.1 on anvil).
import { concatHex, getAddress, keccak256, numberToHex, parseEther, toHex, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNestedSafeSignature, signSafeTxForOwnerSafe } from '../src/safe/contractSignature.ts';
import { executeSafeTx } from '../src/safe/execute.ts';
import { readSafe } from '../src/safe/read.ts';
import { createSafeTx, getSafeTxHash } from '../src/safe/safeTx.ts';
import { contractSignatureBytes, encodeContractSignature, encodeSafeSignatures, signSafeTxEip712, verifySafeSignatures, type SafeSignature } from '../src/safe/signatures.ts';
import { codeOf } from '../../../test/support/errors.ts';
import { newFundedSafe, ownerKeys, startSafeChain, type SafeChain } from './support/safeChain.ts';

const addr = (tag: string): Address => getAddress(keccak256(toHex(tag)).slice(0, 42));

let sc: SafeChain;
let parentKeys: ReturnType<typeof ownerKeys>;
let uncleKeys: ReturnType<typeof ownerKeys>;
let childKeys: ReturnType<typeof ownerKeys>;
let parent: { address: Address; owners: Address[]; threshold: number };
let uncle: { address: Address; owners: Address[]; threshold: number };
let child: Address;

beforeAll(async () => {
  sc = await startSafeChain();
  parentKeys = ownerKeys(3, 'nested-parent');
  uncleKeys = ownerKeys(2, 'nested-uncle');
  childKeys = ownerKeys(2, 'nested-child');
  const p = await newFundedSafe(sc, parentKeys.map((k) => k.address), 2, 40n, 0n);
  const u = await newFundedSafe(sc, uncleKeys.map((k) => k.address), 1, 41n, 0n);
  parent = { address: p.address, owners: parentKeys.map((k) => k.address), threshold: 2 };
  uncle = { address: u.address, owners: uncleKeys.map((k) => k.address), threshold: 1 };
  // Child: 3-of-4, owned by two Safes and two keys.
  child = (await newFundedSafe(sc, [parent.address, uncle.address, ...childKeys.map((k) => k.address)], 3, 42n)).address;
});
afterAll(async () => {
  await sc.chain.stop();
});

const childDomain = () => ({ chainId: sc.chain.chainId, safeAddress: child });

async function parentSignature(tx: ReturnType<typeof createSafeTx>, signers: readonly number[]): Promise<SafeSignature> {
  const sigs = await Promise.all(signers.map((i) => signSafeTxForOwnerSafe(parentKeys[i]!.key, parent.address, childDomain(), tx)));
  return createNestedSafeSignature({ ownerSafe: parent, childDomain: childDomain(), tx, signatures: sigs });
}

describe('EIP-1271 contract signatures (a Safe owned by Safes)', () => {
  it('executes with two contract signatures and one key signature (dynamic parts laid out after the static ones)', async () => {
    const tx = createSafeTx({ to: addr('nested-recipient'), value: parseEther('1'), nonce: 0n });
    const fromParent = await parentSignature(tx, [2, 0]);
    const uncleInner = await signSafeTxForOwnerSafe(uncleKeys[1]!.key, uncle.address, childDomain(), tx);
    const fromUncle = createNestedSafeSignature({ ownerSafe: uncle, childDomain: childDomain(), tx, signatures: [uncleInner] });
    const fromKey = await signSafeTxEip712(childKeys[0]!.key, childDomain(), tx);
    const owners = (await readSafe(sc.clients, child)).owners;
    const verified = verifySafeSignatures({ ...childDomain(), safeTxHash: getSafeTxHash(childDomain(), tx), owners }, [fromKey, fromParent, fromUncle]);
    expect(verified.map((v) => v.kind).sort()).toEqual(['contract', 'contract', 'eip712']);
    // Layout: 3 static parts of 65 bytes, then each dynamic part (32-byte length + 2 or 1 inner signatures).
    const encoded = encodeSafeSignatures(verified, 3);
    expect((encoded.length - 2) / 2).toBe(3 * 65 + (32 + 130) + (32 + 65));
    const done = await executeSafeTx(sc.clients, { safeAddress: child, tx, signatures: [fromUncle, fromKey, fromParent], account: sc.executor });
    expect(done.safeTxHash).toBe(getSafeTxHash(childDomain(), tx));
    expect(await sc.clients.public.getBalance({ address: addr('nested-recipient') })).toBe(parseEther('1'));
  });

  it('refuses a contract signature its owner Safe does not validate, before sending anything', async () => {
    const tx = createSafeTx({ to: addr('nested-recipient'), value: 1n, nonce: 1n });
    const keySigs = await Promise.all(childKeys.map((k) => signSafeTxEip712(k.key, childDomain(), tx)));
    // Too few parent owners: refused when building it.
    const one = [await signSafeTxForOwnerSafe(parentKeys[0]!.key, parent.address, childDomain(), tx)];
    expect(codeOf(() => createNestedSafeSignature({ ownerSafe: parent, childDomain: childDomain(), tx, signatures: one }))).toBe('safe.not_enough_signatures');
    // Parent owners' signatures over another transaction, wrapped by hand: the parent Safe says no (GS026/GS024 on chain).
    const other = createSafeTx({ to: addr('nested-elsewhere'), value: 1n, nonce: 1n });
    const forged = await parentSignature(other, [0, 1]);
    const wrapped: SafeSignature = { signer: parent.address, data: forged.data };
    const before = await sc.clients.public.getTransactionCount({ address: sc.executor });
    await expect(executeSafeTx(sc.clients, { safeAddress: child, tx, signatures: [wrapped, ...keySigs], account: sc.executor })).rejects.toMatchObject({
      code: 'safe.bad_contract_signature',
    });
    // An EOA owner cannot give a contract signature.
    const fromKeyAsContract: SafeSignature = { signer: childKeys[0]!.address, data: encodeContractSignature(childKeys[0]!.address, contractSignatureBytes({ kind: 'contract', data: forged.data })) };
    await expect(executeSafeTx(sc.clients, { safeAddress: child, tx, signatures: [fromKeyAsContract, keySigs[1]!, await parentSignature(tx, [0, 1])], account: sc.executor })).rejects.toMatchObject({
      code: 'safe.bad_contract_signature',
    });
    expect(await sc.clients.public.getTransactionCount({ address: sc.executor })).toBe(before);
    // Control: the genuine parent signature with the same key signatures executes.
    await executeSafeTx(sc.clients, { safeAddress: child, tx, signatures: [await parentSignature(tx, [1, 2]), ...keySigs], account: sc.executor });
    expect((await readSafe(sc.clients, child)).nonce).toBe(2n);
  });

  it('refuses malformed contract signatures by form', () => {
    const tx = createSafeTx({ to: addr('nested-recipient'), value: 1n, nonce: 9n });
    const ctx = { ...childDomain(), safeTxHash: getSafeTxHash(childDomain(), tx), owners: [parent.address, uncle.address] };
    const inner: Hex = `0x${'11'.repeat(65)}`;
    const good = encodeContractSignature(parent.address, inner);
    expect(verifySafeSignatures(ctx, [{ signer: parent.address, data: good }])[0]!.kind).toBe('contract');
    const malformed: Hex[] = [
      `${good}00`, // a byte more than its length says
      good.slice(0, -2) as Hex, // a byte less
      concatHex([good.slice(0, 66) as Hex, numberToHex(64, { size: 32 }), `0x${good.slice(130)}`]), // offset not 65
      concatHex([numberToHex(1n << 200n, { size: 32 }), `0x${good.slice(66)}`]), // r not an address
      good.slice(0, 2 + 65 * 2 + 10) as Hex, // length word truncated
    ];
    for (const data of malformed) expect(codeOf(() => verifySafeSignatures(ctx, [{ signer: parent.address, data }]))).toBe('safe.bad_signature');
    // A contract signature claimed by another owner than its r: signer mismatch.
    expect(codeOf(() => verifySafeSignatures(ctx, [{ signer: uncle.address, data: good }]))).toBe('safe.signer_mismatch');
    expect(codeOf(() => contractSignatureBytes({ kind: 'eip712', data: inner }))).toBe('safe.bad_signature');
  });
});
