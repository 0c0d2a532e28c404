// Test support for Safe suites: anvil with the Safe v1.4.1 singletons, a test ERC-20 from the
// @safe-global/safe-contracts artifacts, and raw-key owners (deterministic, public test keys).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { getAddress, keccak256, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createEvmClients, deploySafeSingletons, signSafeTxEip712, startDevChain, type DevChain, type EvmClients, type SafeDomain, type SafeTx } from '@mofn/ethereum';

export interface TestChain {
  readonly chain: DevChain;
  readonly clients: EvmClients;
  /** anvil's unlocked, funded account 0. */
  readonly funder: Address;
}

export async function startTestChain(chainId = 31337): Promise<TestChain> {
  const chain = await startDevChain({ chainId });
  try {
    const clients = await createEvmClients(chain.rpcUrl, chain.chainId);
    const funder = chain.accounts[0]!;
    await deploySafeSingletons(clients, { account: funder });
    return { chain, clients, funder };
  } catch (err) {
    await chain.stop();
    throw err;
  }
}

/** An OpenZeppelin ERC20 "TestToken" (TT, 18 decimals), whole supply (10^15 units) to the funder. */
export async function deployTestToken(tc: TestChain): Promise<Address> {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@safe-global/safe-contracts/package.json'));
  const { bytecode } = JSON.parse(readFileSync(join(root, 'build/artifacts/contracts/test/ERC20Token.sol/ERC20Token.json'), 'utf8')) as { bytecode: Hex };
  const hash = await tc.clients.wallet.deployContract({ abi: [], bytecode, account: tc.funder, chain: tc.clients.chain });
  const receipt = await tc.clients.public.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || receipt.contractAddress == null) throw new Error('token deployment failed');
  return getAddress(receipt.contractAddress);
}

export async function send(tc: TestChain, to: Address, value: bigint): Promise<void> {
  const hash = await tc.clients.wallet.sendTransaction({ account: tc.funder, chain: tc.clients.chain, to, value });
  await tc.clients.public.waitForTransactionReceipt({ hash });
}

/** A raw-key owner that signs like the keystore signer does. */
export interface RawOwner {
  readonly key: Hex;
  readonly address: Address;
  signSafeTx(domain: SafeDomain, tx: SafeTx): Promise<ReturnType<typeof signSafeTxEip712> extends Promise<infer T> ? T : never>;
}

export function rawOwners(n: number, tag: string): RawOwner[] {
  return Array.from({ length: n }, (_, i) => {
    const key = keccak256(toHex(`mofn-safe-service-${tag}-${i}`));
    return { key, address: privateKeyToAccount(key).address, signSafeTx: (d: SafeDomain, t: SafeTx) => signSafeTxEip712(key, d, t) };
  });
}

/** A fresh address nobody holds a key to (recipient). */
export function freshAddress(tag: string): Address {
  return getAddress(`0x${keccak256(toHex(`mofn-recipient-${tag}`)).slice(-40)}`);
}
