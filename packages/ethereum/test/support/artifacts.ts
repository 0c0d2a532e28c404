// Test-only contracts deployed from the @safe-global/safe-contracts 1.4.1 build artifacts (no compiler needed).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { getAddress, type Address, type Hex } from 'viem';
import type { SafeChain } from './safeChain.ts';

/** Artifacts under build/artifacts/contracts used by tests. */
export const TEST_ARTIFACTS = {
  /** OpenZeppelin ERC20 "TestToken" (TT, 18 decimals) minting 10^15 units to the deployer. */
  erc20: 'test/ERC20Token.sol/ERC20Token.json',
  /** A transaction guard that accepts everything (and supports the Guard interface, as setGuard requires). */
  debugGuard: 'examples/guards/DebugTransactionGuard.sol/DebugTransactionGuard.json',
} as const;

export function artifactBytecode(rel: string): Hex {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@safe-global/safe-contracts/package.json'));
  return (JSON.parse(readFileSync(join(root, 'build/artifacts/contracts', rel), 'utf8')) as { bytecode: Hex }).bytecode;
}

/** Deploys an artifact (no constructor arguments) from the executor and returns its address. */
export async function deployArtifact(sc: SafeChain, rel: string): Promise<Address> {
  const hash = await sc.clients.wallet.deployContract({ abi: [], bytecode: artifactBytecode(rel), account: sc.executor, chain: sc.clients.chain });
  const receipt = await sc.clients.public.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || receipt.contractAddress == null) throw new Error(`deploying ${rel} failed`);
  return getAddress(receipt.contractAddress);
}

/** A fresh test token whose whole supply (10^15 units) belongs to the executor. */
export async function deployTestToken(sc: SafeChain): Promise<Address> {
  return deployArtifact(sc, TEST_ARTIFACTS.erc20);
}
