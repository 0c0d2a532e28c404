/**
 * Safe v1.4.1 singletons (Safe, SafeL2, SafeProxyFactory, CompatibilityFallbackHandler,
 * MultiSendCallOnly, MultiSend): their canonical addresses, a check of their code, and on a dev chain their
 * deployment from the `@safe-global/safe-contracts` 1.4.1 artifacts when missing.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { concatHex, createTestClient, getCreate2Address, http, isHex, zeroHash, type Account, type Address, type Hex } from 'viem';
import { MofnError } from '@mofn/core';
import type { EvmClients } from '../client.ts';

/** Addresses of the contracts a Safe deployment needs. */
export interface SafeSingletons {
  readonly safe: Address;
  readonly safeL2: Address;
  readonly proxyFactory: Address;
  readonly fallbackHandler: Address;
  readonly multiSendCallOnly: Address;
  /** MultiSend (CALL and DELEGATECALL entries): deployed for completeness, never trusted by reviews. */
  readonly multiSend: Address;
}

/**
 * The canonical Safe v1.4.1 addresses (safe-deployments "canonical"), as constants so that pure
 * code (reviews, adapters, browsers) needs no artifact files; a test checks them against the artifacts.
 */
export const SAFE_V141_CANONICAL: SafeSingletons = Object.freeze({
  safe: '0x41675C099F32341bf84BFc5382aF534df5C7461a',
  safeL2: '0x29fcB43b46531BcA003ddC8FCB67FFE91900C762',
  proxyFactory: '0x4e1DCf7AD4e460CfD30791CCC4F9c8a4f820ec67',
  fallbackHandler: '0xfd0732Dc9E303f09fCEf3a7388Ad10A83459Ec99',
  multiSendCallOnly: '0x9641d764fc13c8B624c04430C7356C1C7C8102e2',
  multiSend: '0x38869bf66a61cF6bDB996A6aE40D5853Fd43B526',
});

/** Artifact path (under the package's build/artifacts/contracts) of each singleton, frozen. */
export const SAFE_ARTIFACTS = Object.freeze({
  safe: 'Safe.sol/Safe.json',
  safeL2: 'SafeL2.sol/SafeL2.json',
  proxyFactory: 'proxies/SafeProxyFactory.sol/SafeProxyFactory.json',
  fallbackHandler: 'handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json',
  multiSendCallOnly: 'libraries/MultiSendCallOnly.sol/MultiSendCallOnly.json',
  multiSend: 'libraries/MultiSend.sol/MultiSend.json',
} as const satisfies Record<keyof SafeSingletons, string>);

/**
 * The Safe singleton factory (safe-global/safe-singleton-factory): calldata `salt(32) || initcode`
 * deploys `initcode` with CREATE2. Safe v1.4.1's canonical addresses are CREATE2 from it with salt 0.
 */
export const SAFE_SINGLETON_FACTORY: Address = '0x914d7Fec6aaC8cd542e72Bca78B30650d45643d7';

/** Runtime code of the Safe singleton factory (the same program as Arachnid's deterministic deployment proxy). */
export const SAFE_SINGLETON_FACTORY_CODE: Hex =
  '0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3';

const SAFE_CONTRACTS_VERSION = '1.4.1';

/**
 * Byte offsets of immutables set to `address(this)` in the constructor (solc's immutableReferences
 * from the package's build-info): MultiSend stores its own address to refuse being CALLed directly.
 * The artifact holds zeros there; the deployed code holds the contract's address.
 */
const SELF_IMMUTABLE_OFFSETS: Readonly<Partial<Record<keyof SafeSingletons, readonly number[]>>> = Object.freeze({ multiSend: Object.freeze([224]) });

/** The runtime code expected at `address`: the artifact's, with self-address immutables filled in. */
function expectedRuntime(name: keyof SafeSingletons, artifact: SafeArtifact, address: Address): Hex {
  let code = artifact.deployedBytecode.toLowerCase();
  const word = address.slice(2).toLowerCase().padStart(64, '0');
  for (const offset of SELF_IMMUTABLE_OFFSETS[name] ?? []) {
    const at = 2 + offset * 2;
    code = code.slice(0, at) + word + code.slice(at + 64);
  }
  return code as Hex;
}

interface SafeArtifact {
  readonly bytecode: Hex;
  readonly deployedBytecode: Hex;
}
let artifactCache: Readonly<Record<keyof SafeSingletons, SafeArtifact>> | undefined;

/**
 * Reads creation and runtime bytecode of each singleton from `@safe-global/safe-contracts` 1.4.1.
 * @throws MofnError `safe.no_artifacts`
 */
export function loadSafeArtifacts(): Readonly<Record<keyof SafeSingletons, SafeArtifact>> {
  if (artifactCache) return artifactCache;
  const require = createRequire(import.meta.url);
  let root: string;
  let version: unknown;
  try {
    const pkgPath = require.resolve('@safe-global/safe-contracts/package.json');
    root = dirname(pkgPath);
    version = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version?: unknown }).version;
  } catch (cause) {
    throw new MofnError('safe.no_artifacts', 'package @safe-global/safe-contracts is not installed', {
      hint: `npm install @safe-global/safe-contracts@${SAFE_CONTRACTS_VERSION}`,
      cause,
    });
  }
  if (version !== SAFE_CONTRACTS_VERSION) {
    throw new MofnError('safe.no_artifacts', `@safe-global/safe-contracts is ${String(version)}, mofn needs ${SAFE_CONTRACTS_VERSION}`);
  }
  const out: Partial<Record<keyof SafeSingletons, SafeArtifact>> = {};
  for (const [name, rel] of Object.entries(SAFE_ARTIFACTS) as [keyof SafeSingletons, string][]) {
    const file = join(root, 'build', 'artifacts', 'contracts', rel);
    const artifact = JSON.parse(readFileSync(file, 'utf8')) as { bytecode?: unknown; deployedBytecode?: unknown };
    const { bytecode, deployedBytecode } = artifact;
    if (typeof bytecode !== 'string' || !isHex(bytecode) || bytecode.length < 4 || typeof deployedBytecode !== 'string' || !isHex(deployedBytecode)) {
      throw new MofnError('safe.no_artifacts', `artifact ${rel} has no bytecode`);
    }
    for (const offset of SELF_IMMUTABLE_OFFSETS[name] ?? []) {
      if (deployedBytecode.slice(2 + offset * 2, 2 + offset * 2 + 64) !== '0'.repeat(64)) {
        throw new MofnError('safe.no_artifacts', `artifact ${rel} has no immutable placeholder at byte ${offset}`);
      }
    }
    out[name] = Object.freeze({ bytecode, deployedBytecode });
  }
  artifactCache = Object.freeze(out as Record<keyof SafeSingletons, SafeArtifact>);
  return artifactCache;
}

/**
 * The canonical Safe v1.4.1 singleton addresses (the same on every chain where they are deployed),
 * computed from the artifacts: CREATE2 from {@link SAFE_SINGLETON_FACTORY} with salt 0.
 * @throws MofnError `safe.no_artifacts`
 */
export function getSafeSingletons(): SafeSingletons {
  const artifacts = loadSafeArtifacts();
  const at = (name: keyof SafeSingletons): Address =>
    getCreate2Address({ from: SAFE_SINGLETON_FACTORY, salt: zeroHash, bytecode: artifacts[name].bytecode });
  return Object.freeze({
    safe: at('safe'),
    safeL2: at('safeL2'),
    proxyFactory: at('proxyFactory'),
    fallbackHandler: at('fallbackHandler'),
    multiSendCallOnly: at('multiSendCallOnly'),
    multiSend: at('multiSend'),
  });
}

/** Result of {@link deploySafeSingletons}. */
export interface SingletonDeployment {
  readonly singletons: SafeSingletons;
  /** The names deployed by this call (empty when all were already there). */
  readonly deployed: readonly (keyof SafeSingletons)[];
}

/**
 * Checks that every singleton is at its canonical address with exactly the artifact's runtime code.
 * @throws MofnError `safe.singleton_missing`, `safe.singleton_mismatch`
 */
export async function assertSafeSingletons(clients: Pick<EvmClients, 'public' | 'chain'>): Promise<SafeSingletons> {
  const artifacts = loadSafeArtifacts();
  const singletons = getSafeSingletons();
  for (const name of Object.keys(SAFE_ARTIFACTS) as (keyof SafeSingletons)[]) {
    const state = await singletonState(clients, singletons[name], expectedRuntime(name, artifacts[name], singletons[name]));
    if (state !== 'ok') {
      throw new MofnError(`safe.singleton_${state}`, `Safe 1.4.1 ${name} ${state === 'missing' ? 'is not deployed' : 'has unexpected code'} at ${singletons[name]} on chain ${clients.chain.id}`, {
        details: { name, address: singletons[name] },
      });
    }
  }
  return singletons;
}

async function singletonState(clients: Pick<EvmClients, 'public'>, address: Address, runtime: Hex): Promise<'ok' | 'missing' | 'mismatch'> {
  const code = await clients.public.getCode({ address });
  if (code === undefined || code === '0x') return 'missing';
  return code.toLowerCase() === runtime.toLowerCase() ? 'ok' : 'mismatch';
}

/**
 * On a dev chain, deploys the Safe v1.4.1 singletons that are missing, at their canonical addresses,
 * through the Safe singleton factory (installed first with `anvil_setCode` / `hardhat_setCode`
 * if the chain lacks it). Singletons already present must carry exactly the artifact's code.
 * @throws MofnError `safe.no_singleton_factory`, `safe.singleton_mismatch`, `safe.deploy_failed`, `safe.no_artifacts`
 */
export async function deploySafeSingletons(clients: EvmClients, params: { readonly account: Account | Address }): Promise<SingletonDeployment> {
  const artifacts = loadSafeArtifacts();
  const singletons = getSafeSingletons();
  const deployed: (keyof SafeSingletons)[] = [];
  for (const name of Object.keys(SAFE_ARTIFACTS) as (keyof SafeSingletons)[]) {
    const address = singletons[name];
    const runtime = expectedRuntime(name, artifacts[name], address);
    const state = await singletonState(clients, address, runtime);
    if (state === 'mismatch') throw new MofnError('safe.singleton_mismatch', `${name} at ${address} has unexpected code`, { details: { name, address } });
    if (state === 'ok') continue;
    await ensureSingletonFactory(clients);
    try {
      const hash = await clients.wallet.sendTransaction({
        account: params.account,
        chain: clients.chain,
        to: SAFE_SINGLETON_FACTORY,
        data: concatHex([zeroHash, artifacts[name].bytecode]),
      });
      const receipt = await clients.public.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new MofnError('safe.deploy_failed', `deploying ${name} reverted (tx ${hash})`);
    } catch (cause) {
      if (cause instanceof MofnError) throw cause;
      throw new MofnError('safe.deploy_failed', `deploying ${name} failed`, { cause });
    }
    if ((await singletonState(clients, address, runtime)) !== 'ok') {
      throw new MofnError('safe.deploy_failed', `${name} is not at ${address} after deployment`);
    }
    deployed.push(name);
  }
  return { singletons, deployed: Object.freeze(deployed) };
}

async function ensureSingletonFactory(clients: EvmClients): Promise<void> {
  const code = await clients.public.getCode({ address: SAFE_SINGLETON_FACTORY });
  if (code !== undefined && code !== '0x') {
    if (code.toLowerCase() !== SAFE_SINGLETON_FACTORY_CODE) throw new MofnError('safe.no_singleton_factory', `unexpected code at the Safe singleton factory ${SAFE_SINGLETON_FACTORY}`);
    return;
  }
  const url = clients.chain.rpcUrls.default.http[0];
  let lastError: unknown;
  // Dev chains only: anvil and hardhat let us place the factory's code directly.
  for (const mode of ['anvil', 'hardhat'] as const) {
    if (url === undefined) break;
    try {
      await createTestClient({ mode, transport: http(url) }).setCode({ address: SAFE_SINGLETON_FACTORY, bytecode: SAFE_SINGLETON_FACTORY_CODE });
      if ((await clients.public.getCode({ address: SAFE_SINGLETON_FACTORY }))?.toLowerCase() === SAFE_SINGLETON_FACTORY_CODE) return;
    } catch (err) {
      lastError = err;
    }
  }
  throw new MofnError('safe.no_singleton_factory', `no Safe singleton factory at ${SAFE_SINGLETON_FACTORY} on chain ${clients.chain.id}, and the chain is not a dev chain mofn can set it up on`, {
    hint: 'deploy the Safe singleton factory (safe-global/safe-singleton-factory) on this chain first',
    cause: lastError,
  });
}

/** True if `address` has contract code (never throws on an empty account; RPC errors propagate). */
export async function hasCode(clients: Pick<EvmClients, 'public'>, address: Address): Promise<boolean> {
  const code = await clients.public.getCode({ address });
  return code !== undefined && code !== '0x';
}
