// Shared fixture: an anvil dev chain with the Safe v1.4.1 singletons deployed from the artifacts.
import { keccak256, parseEther, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createEvmClients, type EvmClients } from '../../src/client.ts';
import { startDevChain, type DevChain } from '../../src/devchain.ts';
import { createSafe, type CreatedSafe } from '../../src/safe/create.ts';
import { deploySafeSingletons, type SafeSingletons } from '../../src/safe/singletons.ts';

export interface SafeChain {
  chain: DevChain;
  clients: EvmClients;
  singletons: SafeSingletons;
  /** anvil's unlocked, funded account 0: deploys and executes. */
  executor: Address;
}

export async function startSafeChain(): Promise<SafeChain> {
  const chain = await startDevChain();
  try {
    const clients = await createEvmClients(chain.rpcUrl, chain.chainId);
    const executor = chain.accounts[0]!;
    const { singletons } = await deploySafeSingletons(clients, { account: executor });
    return { chain, clients, singletons, executor };
  } catch (err) {
    await chain.stop();
    throw err;
  }
}

/** Deterministic test owner keys, sorted by nothing in particular (so order bugs show). */
export function ownerKeys(n: number, tag = 'owner'): { key: Hex; address: Address }[] {
  return Array.from({ length: n }, (_, i) => {
    const key = keccak256(toHex(`mofn-test-${tag}-${i}`));
    return { key, address: privateKeyToAccount(key).address };
  });
}

export async function newFundedSafe(
  sc: SafeChain,
  owners: readonly Address[],
  threshold: number,
  saltNonce: bigint,
  funding = parseEther('10'),
): Promise<CreatedSafe> {
  const created = await createSafe(sc.clients, { config: { owners, threshold, saltNonce }, singletons: sc.singletons, account: sc.executor });
  const hash = await sc.clients.wallet.sendTransaction({ account: sc.executor, chain: sc.clients.chain, to: created.address, value: funding });
  await sc.clients.public.waitForTransactionReceipt({ hash });
  return created;
}
