/**
 * Safe gas benchmark: gas of execTransaction for a 2-of-3 ETH transfer and a 3-of-5 ERC-20 transfer,
 * run through mofn (service use cases: propose, keystore-style EIP-712 signatures, executeSafeProposal)
 * and through @safe-global/protocol-kit 8 for the very same SafeTx from the very same chain state
 * (anvil evm_snapshot / evm_revert between the two), printed side by side.
 *
 * Target (issue 5): equal gas. The contract's own cost is the limit: both send the same calldata
 * when they encode the same sorted signatures (RFC 6979 signatures are deterministic).
 *
 *   node --import tsx bench/safe/gas.ts [--json]
 */
import { fileURLToPath } from 'node:url';
import SafeModule, { type ContractNetworksConfig } from '@safe-global/protocol-kit';
import { createTestClient, http, keccak256, parseEther, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ERC20_ABI, getSafeSingletons, signSafeTxEip712, type SafeTx } from '@mofn/ethereum';
import { createContext, openStore, type ServiceContext } from '@mofn/service';
import { createStoredSafe, executeSafeProposal, proposeSafeTx, signSafeProposal, type SafeProposalSpec } from '../../packages/service/src/safe/index.ts';
import { deployTestToken, send, startTestChain, type TestChain } from '../../packages/service/test/safe/support.ts';

// protocol-kit's types are CJS-shaped under NodeNext; its ESM default export is the Safe class.
const Safe = SafeModule as unknown as typeof SafeModule.default;

/** One measured case. */
export interface SafeGasRow {
  readonly case: string;
  readonly mofn: bigint;
  readonly protocolKit: bigint;
  readonly equal: boolean;
}

function keys(n: number, tag: string): { key: Hex; address: Address }[] {
  return Array.from({ length: n }, (_, i) => {
    const key = keccak256(toHex(`mofn-bench-safe-${tag}-${i}`));
    return { key, address: privateKeyToAccount(key).address };
  });
}

async function measureCase(
  tc: TestChain,
  ctx: ServiceContext,
  contractNetworks: ContractNetworksConfig,
  params: { name: string; owners: { key: Hex; address: Address }[]; threshold: number; fund: (safe: Address) => Promise<void>; spec: SafeProposalSpec },
): Promise<{ mofn: bigint; protocolKit: bigint }> {
  const { owners, threshold } = params;
  const { safe } = await createStoredSafe(ctx, { name: params.name, owners: owners.map((o) => o.address), threshold, chainId: tc.chain.chainId, rpcUrl: tc.chain.rpcUrl });
  await params.fund(safe.address);
  // The protocol-kit executor is a signing owner: give it gas money (before the snapshot, so both runs see it).
  await send(tc, owners[0]!.address, parseEther('1'));
  const review = await proposeSafeTx(ctx, { safe: params.name, spec: params.spec });
  const signers = owners.slice(0, threshold).map((o) => ({ address: o.address, signSafeTx: (d: Parameters<typeof signSafeTxEip712>[1], t: SafeTx) => signSafeTxEip712(o.key, d, t) }));
  for (const s of signers) await signSafeProposal(ctx, { safe: params.name, id: review.proposal.id, signer: s, acknowledged: [...review.dangers] });

  const test = createTestClient({ mode: 'anvil', transport: http(tc.chain.rpcUrl) });
  const snapshot = await test.snapshot();
  const mofn = (await executeSafeProposal(ctx, { safe: params.name, id: review.proposal.id })).gasUsed;
  await test.revert({ id: snapshot });

  const tx = review.tx;
  let kit = await Safe.init({ provider: tc.chain.rpcUrl, signer: owners[0]!.key, safeAddress: safe.address, contractNetworks });
  let kitTx = await kit.createTransaction({
    transactions: [{ to: tx.to, value: tx.value.toString(), data: tx.data }],
    options: { nonce: Number(tx.nonce), safeTxGas: '0', baseGas: '0', gasPrice: '0' },
  });
  for (const o of owners.slice(0, threshold)) {
    // Always pass `signer` to connect: without it protocol-kit silently drops the signer.
    kit = await kit.connect({ provider: tc.chain.rpcUrl, signer: o.key, safeAddress: safe.address, contractNetworks });
    kitTx = await kit.signTransaction(kitTx, 'eth_signTypedData_v4');
  }
  if ((await kit.getTransactionHash(kitTx)) !== review.safeTxHash) throw new Error(`${params.name}: protocol-kit built another SafeTx than mofn`);
  kit = await kit.connect({ provider: tc.chain.rpcUrl, signer: owners[0]!.key, safeAddress: safe.address, contractNetworks });
  const result = await kit.executeTransaction(kitTx);
  const receipt = await tc.clients.public.waitForTransactionReceipt({ hash: result.hash as Hex });
  if (receipt.status !== 'success') throw new Error(`${params.name}: protocol-kit execution reverted`);
  return { mofn, protocolKit: receipt.gasUsed };
}

/** Measures both cases on a fresh anvil and returns the rows (mofn vs protocol-kit gas). */
export async function measureSafeGas(): Promise<readonly SafeGasRow[]> {
  const tc = await startTestChain();
  const store = await openStore({ file: ':memory:' });
  try {
    const ctx = createContext(store);
    const s = getSafeSingletons();
    const contractNetworks: ContractNetworksConfig = {
      [String(tc.chain.chainId)]: {
        safeSingletonAddress: s.safe,
        safeProxyFactoryAddress: s.proxyFactory,
        multiSendAddress: s.multiSend,
        multiSendCallOnlyAddress: s.multiSendCallOnly,
        fallbackHandlerAddress: s.fallbackHandler,
        // Not used for hashing, signing and executing calls; protocol-kit wants an address.
        signMessageLibAddress: s.fallbackHandler,
        createCallAddress: s.fallbackHandler,
        simulateTxAccessorAddress: s.fallbackHandler,
      },
    };
    const rows: SafeGasRow[] = [];
    const eth = await measureCase(tc, ctx, contractNetworks, {
      name: 'eth-2-of-3',
      owners: keys(3, 'eth'),
      threshold: 2,
      fund: (safe) => send(tc, safe, parseEther('2')),
      spec: { kind: 'eth', to: keccak256(toHex('bench-recipient-eth')).slice(0, 42), value: parseEther('1') },
    });
    rows.push({ case: '2-of-3 ETH transfer', ...eth, equal: eth.mofn === eth.protocolKit });
    const token = await deployTestToken(tc);
    const erc20 = await measureCase(tc, ctx, contractNetworks, {
      name: 'erc20-3-of-5',
      owners: keys(5, 'erc20'),
      threshold: 3,
      fund: async (safe) => {
        const hash = await tc.clients.wallet.writeContract({ account: tc.funder, chain: tc.clients.chain, address: token, abi: ERC20_ABI, functionName: 'transfer', args: [safe, 10n ** 14n] });
        await tc.clients.public.waitForTransactionReceipt({ hash });
      },
      spec: { kind: 'erc20', token, to: keccak256(toHex('bench-recipient-erc20')).slice(0, 42), amount: '0.00001' },
    });
    rows.push({ case: '3-of-5 ERC-20 transfer', ...erc20, equal: erc20.mofn === erc20.protocolKit });
    return Object.freeze(rows);
  } finally {
    await store.close();
    await tc.chain.stop();
  }
}

async function cli(): Promise<void> {
  const rows = await measureSafeGas();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
  } else {
    console.log('execTransaction gas (anvil, Safe v1.4.1, same SafeTx and state)');
    console.log(`${'case'.padEnd(26)}${'mofn'.padStart(10)}${'protocol-kit'.padStart(14)}  target: equal`);
    for (const r of rows) console.log(`${r.case.padEnd(26)}${r.mofn.toString().padStart(10)}${r.protocolKit.toString().padStart(14)}  ${r.equal ? 'PASS' : 'MISS'}`);
  }
  if (!rows.every((r) => r.equal)) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await cli();
