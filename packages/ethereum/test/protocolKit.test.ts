// Interop with @safe-global/protocol-kit (test-only peer): same SafeTx hash, signatures accepted both ways.
import SafeModule, { calculateSafeTransactionHash, EthSafeSignature, type ContractNetworksConfig } from '@safe-global/protocol-kit';
import fc from 'fast-check';
import { bytesToHex, createTestClient, getAddress, http, keccak256, parseEther, toHex, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAFE_ABI } from '../src/safe/abi.ts';
import { createErc20Transfer, readErc20Balance } from '../src/safe/erc20.ts';
import { executeSafeTx } from '../src/safe/execute.ts';
import { createMultiSendTx, type MultiSendCall } from '../src/safe/multisend.ts';
import { createSafeTx, getSafeTxHash, type SafeTx } from '../src/safe/safeTx.ts';
import { signSafeTxEip712, signSafeTxEthSign, verifySafeSignatures } from '../src/safe/signatures.ts';
import { deployTestToken } from './support/artifacts.ts';
import { newFundedSafe, ownerKeys, startSafeChain, type SafeChain } from './support/safeChain.ts';

// protocol-kit's types are CJS-shaped under NodeNext (the default import types as the module), while
// vitest loads its ESM build, whose default export is the Safe class itself.
const Safe = SafeModule as unknown as typeof SafeModule.default;

let sc: SafeChain;
let keys: ReturnType<typeof ownerKeys>;
let safeAddress: Address;
let contractNetworks: ContractNetworksConfig;

beforeAll(async () => {
  sc = await startSafeChain();
  keys = ownerKeys(3, 'protocol-kit');
  safeAddress = (await newFundedSafe(sc, keys.map((k) => k.address), 2, 11n)).address;
  const s = sc.singletons;
  // protocol-kit has no deployments for chain 31337: point it at mofn's. It needs no SignMessageLib,
  // CreateCall or SimulateTxAccessor for hashing, signing and executing calls and batches.
  contractNetworks = {
    [String(sc.chain.chainId)]: {
      safeSingletonAddress: s.safe,
      safeProxyFactoryAddress: s.proxyFactory,
      multiSendAddress: s.multiSend,
      multiSendCallOnlyAddress: s.multiSendCallOnly,
      fallbackHandlerAddress: s.fallbackHandler,
      signMessageLibAddress: s.fallbackHandler,
      createCallAddress: s.fallbackHandler,
      simulateTxAccessorAddress: s.fallbackHandler,
    },
  };
});
afterAll(async () => {
  await sc.chain.stop();
});

const hex = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => bytesToHex(b));
const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(bytesToHex(b)));
const uint256 = fc.bigInt({ min: 0n, max: (1n << 256n) - 1n });
const smallUint = fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1n << 64n }), uint256);
const safeTxArb = fc.record({
  to: address,
  value: smallUint,
  data: hex(200),
  operation: fc.constantFrom(0 as const, 1 as const),
  safeTxGas: smallUint,
  baseGas: smallUint,
  gasPrice: smallUint,
  gasToken: address,
  refundReceiver: address,
  nonce: smallUint,
});

// protocol-kit types `operation` as its own OperationType enum, whose values are exactly Safe's 0 / 1.
function kitData(tx: SafeTx) {
  return {
    to: tx.to,
    value: tx.value.toString(),
    data: tx.data,
    operation: tx.operation,
    safeTxGas: tx.safeTxGas.toString(),
    baseGas: tx.baseGas.toString(),
    gasPrice: tx.gasPrice.toString(),
    gasToken: tx.gasToken,
    refundReceiver: tx.refundReceiver,
    nonce: Number(tx.nonce),
  };
}

describe('@safe-global/protocol-kit interop', () => {
  it('its SafeTx hash equals mofn on random transactions (and random chain / Safe)', () => {
    fc.assert(
      fc.property(safeTxArb, address, fc.integer({ min: 1, max: 2 ** 40 }), (input, safe, chainId) => {
        // protocol-kit types the nonce as a JS number: keep it in the safe-integer range for this peer.
        const tx = createSafeTx({ ...input, nonce: input.nonce % BigInt(Number.MAX_SAFE_INTEGER) });
        // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- OperationType's values are Safe's 0 / 1
        const theirs = calculateSafeTransactionHash(safe, kitData(tx), '1.4.1', BigInt(chainId));
        expect(getSafeTxHash({ chainId, safeAddress: safe }, tx)).toBe(theirs);
      }),
      { numRuns: 200 },
    );
  });

  it("its on-chain getTransactionHash (a real Safe) equals mofn's on random transactions", async () => {
    const kit = await Safe.init({ provider: sc.chain.rpcUrl, signer: keys[0]!.key, safeAddress, contractNetworks });
    await fc.assert(
      fc.asyncProperty(safeTxArb, async (input) => {
        const tx = createSafeTx({ ...input, nonce: input.nonce % BigInt(Number.MAX_SAFE_INTEGER) });
        const kitTx = await kit.createTransaction({
          // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- OperationType's values are Safe's 0 / 1
          transactions: [{ to: tx.to, value: tx.value.toString(), data: tx.data, operation: tx.operation }],
          options: kitData(tx),
        });
        expect(await kit.getTransactionHash(kitTx)).toBe(getSafeTxHash({ chainId: sc.chain.chainId, safeAddress }, tx));
      }),
      { numRuns: 25 },
    );
  });

  it('signatures go both ways: protocol-kit signs, mofn executes; mofn signs, protocol-kit executes', async () => {
    const domain = { chainId: sc.chain.chainId, safeAddress };
    const recipient = keys[2]!.address;
    // protocol-kit -> mofn
    const kit0 = await Safe.init({ provider: sc.chain.rpcUrl, signer: keys[0]!.key, safeAddress, contractNetworks });
    const kit1 = await kit0.connect({ provider: sc.chain.rpcUrl, signer: keys[1]!.key, safeAddress, contractNetworks });
    const nonce = await kit0.getNonce();
    const tx = createSafeTx({ to: recipient, value: 1000n, nonce: BigInt(nonce) });
    let kitTx = await kit0.createTransaction({ transactions: [{ to: tx.to, value: '1000', data: '0x' }], options: kitData(tx) });
    kitTx = await kit0.signTransaction(kitTx, 'eth_signTypedData_v4');
    kitTx = await kit1.signTransaction(kitTx, 'eth_sign');
    const fromKit = [...kitTx.signatures.values()].map((s) => ({ signer: getAddress(s.signer), data: s.data as Hex }));
    const verified = verifySafeSignatures({ ...domain, safeTxHash: getSafeTxHash(domain, tx), owners: keys.map((k) => k.address) }, fromKit);
    expect(verified.map((v) => v.kind).sort()).toEqual(['eip712', 'eth_sign']);
    await executeSafeTx(sc.clients, { safeAddress, tx, signatures: fromKit, account: sc.executor });
    // mofn -> protocol-kit
    const tx2 = createSafeTx({ to: recipient, value: 2000n, nonce: tx.nonce + 1n });
    const kitTx2 = await kit0.createTransaction({ transactions: [{ to: tx2.to, value: '2000', data: '0x' }], options: kitData(tx2) });
    for (const sig of [await signSafeTxEip712(keys[2]!.key, domain, tx2), await signSafeTxEthSign(keys[1]!.key, domain, tx2)]) {
      kitTx2.addSignature(new EthSafeSignature(sig.signer, sig.data));
    }
    // protocol-kit executes from its signer (owner 0, not a signer of tx2): give it gas money.
    const fund = await sc.clients.wallet.sendTransaction({ account: sc.executor, chain: sc.clients.chain, to: keys[0]!.address, value: parseEther('1') });
    await sc.clients.public.waitForTransactionReceipt({ hash: fund });
    const result = await kit0.executeTransaction(kitTx2);
    const receipt = await sc.clients.public.waitForTransactionReceipt({ hash: result.hash as Hex });
    expect(receipt.status).toBe('success');
    expect(await sc.clients.public.readContract({ address: safeAddress, abi: SAFE_ABI, functionName: 'nonce' })).toBe(tx2.nonce + 1n);
  });
});

describe('@safe-global/protocol-kit interop: ERC-20 transfers and MultiSend batches', () => {
  const addr = (tag: string): Address => getAddress(keccak256(toHex(tag)).slice(0, 42));
  let token: Address;
  let kit0: Awaited<ReturnType<typeof Safe.init>>;
  let kit1: Awaited<ReturnType<typeof Safe.init>>;
  const domain = () => ({ chainId: sc.chain.chainId, safeAddress });

  beforeAll(async () => {
    token = await deployTestToken(sc);
    const hash = await sc.clients.wallet.writeContract({
      account: sc.executor,
      chain: sc.clients.chain,
      address: token,
      abi: [{ type: 'function', name: 'transfer', stateMutability: 'nonpayable', inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }], outputs: [{ type: 'bool' }] }],
      functionName: 'transfer',
      args: [safeAddress, 1_000_000n],
    });
    await sc.clients.public.waitForTransactionReceipt({ hash });
    // Always pass `signer` to connect: without it protocol-kit silently drops the signer.
    kit0 = await Safe.init({ provider: sc.chain.rpcUrl, signer: keys[0]!.key, safeAddress, contractNetworks });
    kit1 = await kit0.connect({ provider: sc.chain.rpcUrl, signer: keys[1]!.key, safeAddress, contractNetworks });
    const fund = await sc.clients.wallet.sendTransaction({ account: sc.executor, chain: sc.clients.chain, to: keys[0]!.address, value: parseEther('1') });
    await sc.clients.public.waitForTransactionReceipt({ hash: fund });
  });

  async function kitSigned(tx: SafeTx, transactions: { to: string; value: string; data: string }[]) {
    let kitTx = await kit0.createTransaction({ transactions, options: kitData(tx) });
    expect(kitTx.data).toMatchObject({ to: tx.to, data: tx.data, operation: tx.operation });
    kitTx = await kit0.signTransaction(kitTx, 'eth_signTypedData_v4');
    kitTx = await kit1.signTransaction(kitTx, 'eth_signTypedData_v4');
    return [...kitTx.signatures.values()].map((sig) => ({ signer: getAddress(sig.signer), data: sig.data as Hex }));
  }

  it('an ERC-20 transfer both ways; execTransaction gas equal for the same signed transaction', async () => {
    const to = addr('kit-erc20-to');
    // protocol-kit -> mofn
    const nonce = BigInt(await kit0.getNonce());
    const tx = createErc20Transfer({ token, to, amount: 1000n, nonce });
    const fromKit = await kitSigned(tx, [{ to: tx.to, value: '0', data: tx.data }]);
    await executeSafeTx(sc.clients, { safeAddress, tx, signatures: fromKit, account: sc.executor });
    expect(await readErc20Balance(sc.clients, token, to)).toBe(1000n);
    // mofn -> protocol-kit, and the same signed transaction through mofn on a snapshot, for gas.
    const tx2 = createErc20Transfer({ token, to, amount: 2000n, nonce: nonce + 1n });
    const sigs = [await signSafeTxEip712(keys[2]!.key, domain(), tx2), await signSafeTxEthSign(keys[1]!.key, domain(), tx2)];
    const test = createTestClient({ mode: 'anvil', transport: http(sc.chain.rpcUrl) });
    const snapshot = await test.snapshot();
    const viaMofn = await executeSafeTx(sc.clients, { safeAddress, tx: tx2, signatures: sigs, account: sc.executor });
    await test.revert({ id: snapshot });
    const kitTx2 = await kit0.createTransaction({ transactions: [{ to: tx2.to, value: '0', data: tx2.data }], options: kitData(tx2) });
    for (const sig of sigs) kitTx2.addSignature(new EthSafeSignature(sig.signer, sig.data));
    const result = await kit0.executeTransaction(kitTx2);
    const receipt = await sc.clients.public.waitForTransactionReceipt({ hash: result.hash as Hex });
    expect(receipt.status).toBe('success');
    expect(await readErc20Balance(sc.clients, token, to)).toBe(3000n);
    console.log(`2-of-3 ERC-20 transfer execTransaction gasUsed: mofn ${viaMofn.gasUsed}, protocol-kit ${receipt.gasUsed}`);
    expect(viaMofn.gasUsed).toBe(receipt.gasUsed);
  });

  it('a MultiSend batch both ways: protocol-kit builds the same SafeTx as mofn', async () => {
    const [a, b] = [addr('kit-batch-a'), addr('kit-batch-b')];
    const calls: MultiSendCall[] = [
      { to: a, value: 5n, data: '0x', operation: 0 },
      { to: token, value: 0n, data: createErc20Transfer({ token, to: b, amount: 77n, nonce: 0n }).data, operation: 0 },
    ];
    const asKit = calls.map((c) => ({ to: c.to, value: c.value.toString(), data: c.data }));
    // protocol-kit -> mofn
    const nonce = BigInt(await kit0.getNonce());
    const tx = createMultiSendTx({ calls, nonce, multiSendCallOnly: sc.singletons.multiSendCallOnly });
    const fromKit = await kitSigned(tx, asKit);
    await executeSafeTx(sc.clients, { safeAddress, tx, signatures: fromKit, account: sc.executor });
    expect(await sc.clients.public.getBalance({ address: a })).toBe(5n);
    expect(await readErc20Balance(sc.clients, token, b)).toBe(77n);
    // mofn -> protocol-kit
    const tx2 = createMultiSendTx({ calls, nonce: nonce + 1n, multiSendCallOnly: sc.singletons.multiSendCallOnly });
    const kitTx2 = await kit0.createTransaction({ transactions: asKit, options: kitData(tx2) });
    expect(kitTx2.data).toMatchObject({ to: tx2.to, data: tx2.data, operation: 1 });
    expect(await kit0.getTransactionHash(kitTx2)).toBe(getSafeTxHash(domain(), tx2));
    for (const sig of [await signSafeTxEip712(keys[0]!.key, domain(), tx2), await signSafeTxEip712(keys[2]!.key, domain(), tx2)]) {
      kitTx2.addSignature(new EthSafeSignature(sig.signer, sig.data));
    }
    const result = await kit0.executeTransaction(kitTx2);
    expect((await sc.clients.public.waitForTransactionReceipt({ hash: result.hash as Hex })).status).toBe('success');
    expect(await sc.clients.public.getBalance({ address: a })).toBe(10n);
    expect(await readErc20Balance(sc.clients, token, b)).toBe(154n);
  });
});
