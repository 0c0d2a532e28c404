/** Creating a Safe: setup initializer, CREATE2 address prediction, deployment through the proxy factory. */
import {
  encodeFunctionData,
  encodePacked,
  getAddress,
  getCreate2Address,
  isAddress,
  isAddressEqual,
  keccak256,
  parseEventLogs,
  zeroAddress,
  type Account,
  type Address,
  type Hex,
} from 'viem';
import { InvalidAddressError, InvalidInputError, MofnError } from '@mofn/core';
import type { EvmClients } from '../client.ts';
import { SAFE_ABI, SAFE_PROXY_FACTORY_ABI } from './abi.ts';
import { readSafe, type SafeState } from './read.ts';
import { hasCode, type SafeSingletons } from './singletons.ts';

/** The wallet policy of a new Safe. */
export interface SafeConfig {
  readonly owners: readonly Address[];
  readonly threshold: number;
  /** CREATE2 salt nonce: a different nonce gives a different Safe for the same owners (default 0). */
  readonly saltNonce?: bigint;
  /** Use SafeL2 (emits events for indexers; the usual choice on L2s). Default false. */
  readonly l2?: boolean;
}

/** Safe's OwnerManager sentinel: never a valid owner. */
const SENTINEL: Address = '0x0000000000000000000000000000000000000001';

/**
 * Validates owners and threshold as Safe's `setupOwners` would, and returns them checksummed.
 * @throws InvalidAddressError `address.invalid`; InvalidInputError `safe.bad_threshold`, `safe.duplicate_owner`, `safe.bad_owner`
 */
export function assertSafeConfig(config: SafeConfig): readonly Address[] {
  const { owners, threshold } = config;
  if (owners.length === 0) throw new InvalidInputError('safe.bad_owner', 'a Safe needs at least one owner');
  const seen = new Set<string>();
  const out: Address[] = [];
  for (const owner of owners) {
    if (!isAddress(owner, { strict: false })) throw new InvalidAddressError('address.invalid', `not an address: ${String(owner)}`);
    const checksummed = getAddress(owner);
    if (isAddressEqual(checksummed, zeroAddress) || isAddressEqual(checksummed, SENTINEL)) {
      throw new InvalidInputError('safe.bad_owner', `${checksummed} cannot be a Safe owner (GS203)`);
    }
    if (seen.has(checksummed)) throw new InvalidInputError('safe.duplicate_owner', `owner ${checksummed} is listed twice (GS204)`);
    seen.add(checksummed);
    out.push(checksummed);
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > owners.length) {
    throw new InvalidInputError('safe.bad_threshold', `threshold must be 1..${owners.length}, got ${threshold}`, {
      details: { threshold, owners: owners.length },
    });
  }
  if (config.saltNonce !== undefined && (config.saltNonce < 0n || config.saltNonce >= 1n << 256n)) {
    throw new InvalidInputError('safe.bad_salt', `saltNonce out of uint256 range: ${config.saltNonce}`);
  }
  return out;
}

/** The `setup(...)` calldata a new Safe proxy is initialized with (no module, no payment). */
export function encodeSafeSetup(config: SafeConfig, singletons: Pick<SafeSingletons, 'fallbackHandler'>): Hex {
  const owners = assertSafeConfig(config);
  return encodeFunctionData({
    abi: SAFE_ABI,
    functionName: 'setup',
    args: [owners, BigInt(config.threshold), zeroAddress, '0x', singletons.fallbackHandler, zeroAddress, 0n, zeroAddress],
  });
}

/**
 * Predicts the address `SafeProxyFactory.createProxyWithNonce` will deploy to: CREATE2 from the factory
 * with salt `keccak256(keccak256(initializer) || saltNonce)` and initcode `proxyCreationCode || singleton`.
 */
export function predictSafeAddress(params: {
  readonly proxyFactory: Address;
  readonly proxyCreationCode: Hex;
  readonly singleton: Address;
  readonly initializer: Hex;
  readonly saltNonce: bigint;
}): Address {
  const salt = keccak256(encodePacked(['bytes32', 'uint256'], [keccak256(params.initializer), params.saltNonce]));
  const bytecode = encodePacked(['bytes', 'uint256'], [params.proxyCreationCode, BigInt(params.singleton)]);
  return getCreate2Address({ from: params.proxyFactory, salt, bytecode });
}

/** Result of {@link createSafe}. */
export interface CreatedSafe {
  readonly address: Address;
  readonly state: SafeState;
  /** Hash of the deployment transaction. */
  readonly txHash: Hex;
  readonly gasUsed: bigint;
}

/**
 * Predicts the Safe address, deploys it through the proxy factory, and checks the deployed address,
 * owners and threshold against the request.
 * @throws InvalidInputError (see {@link assertSafeConfig}); MofnError `safe.already_deployed`,
 *   `safe.not_deployed` (factory missing), `safe.deploy_failed`, `safe.create_mismatch`
 */
export async function createSafe(
  clients: EvmClients,
  params: { readonly config: SafeConfig; readonly singletons: SafeSingletons; readonly account: Account | Address },
): Promise<CreatedSafe> {
  const { config, singletons } = params;
  const owners = assertSafeConfig(config);
  const singleton = config.l2 === true ? singletons.safeL2 : singletons.safe;
  for (const [name, address] of [['proxy factory', singletons.proxyFactory], ['Safe singleton', singleton]] as const) {
    if (!(await hasCode(clients, address))) {
      throw new MofnError('safe.not_deployed', `${name} has no code at ${address} on chain ${clients.chain.id}`, {
        hint: 'deploy the Safe singletons first (deploySafeSingletons on a dev chain)',
      });
    }
  }
  const initializer = encodeSafeSetup(config, singletons);
  const saltNonce = config.saltNonce ?? 0n;
  const proxyCreationCode = await clients.public.readContract({
    address: singletons.proxyFactory,
    abi: SAFE_PROXY_FACTORY_ABI,
    functionName: 'proxyCreationCode',
  });
  const predicted = predictSafeAddress({ proxyFactory: singletons.proxyFactory, proxyCreationCode, singleton, initializer, saltNonce });
  if (await hasCode(clients, predicted)) {
    throw new MofnError('safe.already_deployed', `a Safe with these owners, threshold and salt nonce already exists at ${predicted}`, {
      hint: 'import it, or choose another saltNonce',
      details: { address: predicted },
    });
  }
  let txHash: Hex;
  let receipt;
  try {
    const request = {
      account: params.account,
      chain: clients.chain,
      address: singletons.proxyFactory,
      abi: SAFE_PROXY_FACTORY_ABI,
      functionName: 'createProxyWithNonce',
      args: [singleton, initializer, saltNonce],
    } as const;
    const { result } = await clients.public.simulateContract(request);
    if (!isAddressEqual(result, predicted)) {
      throw new MofnError('safe.create_mismatch', `factory would deploy to ${result}, predicted ${predicted}`);
    }
    txHash = await clients.wallet.writeContract(request);
    receipt = await clients.public.waitForTransactionReceipt({ hash: txHash });
  } catch (cause) {
    if (cause instanceof MofnError) throw cause;
    throw new MofnError('safe.deploy_failed', 'Safe deployment through the proxy factory failed', { cause });
  }
  if (receipt.status !== 'success') throw new MofnError('safe.deploy_failed', `Safe deployment reverted (tx ${txHash})`);
  const created = parseEventLogs({ abi: SAFE_PROXY_FACTORY_ABI, eventName: 'ProxyCreation', logs: receipt.logs }).filter((log) =>
    isAddressEqual(log.address, singletons.proxyFactory),
  );
  const deployedAt = created[0]?.args.proxy;
  if (created.length !== 1 || deployedAt === undefined || !isAddressEqual(deployedAt, predicted)) {
    throw new MofnError('safe.create_mismatch', `deployed Safe ${String(deployedAt)} is not the predicted ${predicted}`);
  }
  const state = await readSafe(clients, predicted);
  const sameOwners = state.owners.length === owners.length && owners.every((o) => state.owners.some((s) => isAddressEqual(s, o)));
  if (!sameOwners || state.threshold !== config.threshold) {
    throw new MofnError('safe.create_mismatch', `Safe ${predicted} has ${state.threshold}-of-${state.owners.length} owners differing from the request`, {
      details: { owners: state.owners, threshold: state.threshold },
    });
  }
  return Object.freeze({ address: predicted, state, txHash, gasUsed: receipt.gasUsed });
}
