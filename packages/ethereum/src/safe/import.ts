/**
 * Importing an existing Safe: its singleton (master copy) must be a known Safe deployment, by address
 * and runtime code hash, and its version at least 1.3.0 (the first whose EIP-712 domain has the chain id).
 */
import { getAddress, isAddressEqual, keccak256, numberToHex, toHex, zeroAddress, type Address, type Hex } from 'viem';
import { MofnError } from '@mofn/core';
import type { EvmClients } from '../client.ts';
import { SAFE_ABI } from './abi.ts';
import { readSafe } from './read.ts';
import { SAFE_V141_CANONICAL } from './singletons.ts';

/** One allow-listed Safe singleton deployment. */
export interface KnownSingleton {
  readonly name: string;
  readonly version: string;
  readonly address: Address;
  /** keccak256 of the runtime code at `address`. */
  readonly codeHash: Hex;
}

/**
 * The Safe singletons mofn accepts by default, frozen: v1.4.1 (Safe, SafeL2; hashes of the
 * @safe-global/safe-contracts 1.4.1 runtime code) and v1.3.0 (GnosisSafe, GnosisSafeL2, canonical and
 * EIP-155 deployments), as published in @safe-global/safe-deployments. Tests check both sources.
 */
export const KNOWN_SAFE_SINGLETONS: readonly KnownSingleton[] = Object.freeze(
  [
    { name: 'Safe', version: '1.4.1', address: SAFE_V141_CANONICAL.safe, codeHash: '0x1fe2df852ba3299d6534ef416eefa406e56ced995bca886ab7a553e6d0c5e1c4' },
    { name: 'SafeL2', version: '1.4.1', address: SAFE_V141_CANONICAL.safeL2, codeHash: '0xb1f926978a0f44a2c0ec8fe822418ae969bd8c3f18d61e5103100339894f81ff' },
    { name: 'GnosisSafe', version: '1.3.0', address: '0xd9Db270c1B5E3Bd161E8c8503c55cEABeE709552', codeHash: '0xbba688fbdb21ad2bb58bc320638b43d94e7d100f6f3ebaab0a4e4de6304b1c2e' },
    { name: 'GnosisSafe', version: '1.3.0', address: '0x69f4D1788e39c87893C980c06EdF4b7f686e2938', codeHash: '0xbba688fbdb21ad2bb58bc320638b43d94e7d100f6f3ebaab0a4e4de6304b1c2e' },
    { name: 'GnosisSafeL2', version: '1.3.0', address: '0x3E5c63644E683549055b9Be8653de26E0B4CD36E', codeHash: '0x21842597390c4c6e3c1239e434a682b054bd9548eee5e9b1d6a4482731023c0f' },
    { name: 'GnosisSafeL2', version: '1.3.0', address: '0xfb1bffC9d739B8D520DaF37dF666da4C687191EA', codeHash: '0x21842597390c4c6e3c1239e434a682b054bd9548eee5e9b1d6a4482731023c0f' },
  ].map((s) => Object.freeze(s as KnownSingleton)),
);

/** Storage slots of Safe >= 1.3.0 (GuardManager / FallbackManager: keccak256 of their names). */
export const GUARD_STORAGE_SLOT: Hex = keccak256(toHex('guard_manager.guard.address'));
export const FALLBACK_HANDLER_STORAGE_SLOT: Hex = keccak256(toHex('fallback_manager.handler.address'));

const SENTINEL_MODULES: Address = '0x0000000000000000000000000000000000000001';
const MODULE_PAGE = 50n;
const MAX_MODULE_PAGES = 100;

/** An imported Safe: everything a reviewer must know of its configuration. */
export interface ImportedSafe {
  readonly address: Address;
  readonly chainId: number;
  readonly version: string;
  readonly singleton: KnownSingleton;
  readonly owners: readonly Address[];
  readonly threshold: number;
  readonly nonce: bigint;
  readonly modules: readonly Address[];
  /** The transaction guard, or undefined when none is set. */
  readonly guard: Address | undefined;
  /** The fallback handler, or undefined when none is set. */
  readonly fallbackHandler: Address | undefined;
}

/**
 * Compares dotted versions numerically ('1.10.0' > '1.9.0'); -1, 0 or 1.
 * @throws MofnError `safe.unsupported_version` for a version that is not dotted numbers
 */
export function compareSafeVersions(a: string, b: string): number {
  const parse = (v: string): number[] => {
    if (!/^\d+(\.\d+)*$/.test(v)) throw new MofnError('safe.unsupported_version', `unrecognised Safe version '${v.slice(0, 40)}'`);
    return v.split('.').map(Number);
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * Refuses Safe versions below 1.3.0: their EIP-712 domain has no chain id, so a signature for one
 * chain would be valid on every other.
 * @throws MofnError `safe.unsupported_version`
 */
export function assertSupportedSafeVersion(version: string): void {
  if (compareSafeVersions(version, '1.3.0') < 0) {
    throw new MofnError('safe.unsupported_version', `Safe version ${version} is below 1.3.0: its signatures carry no chain id`, {
      details: { version },
      hint: 'upgrade the Safe to 1.3.0 or later (a migration contract run by its owners) before using it with mofn',
    });
  }
}

async function readAddressSlot(clients: Pick<EvmClients, 'public'>, address: Address, slot: Hex): Promise<Address> {
  const word = (await clients.public.getStorageAt({ address, slot })) ?? '0x';
  return getAddress(numberToHex(BigInt(word === '0x' ? 0 : word) & ((1n << 160n) - 1n), { size: 20 }));
}

/**
 * Reads an existing Safe: its singleton (checked against `allowList` by address and code hash),
 * version (>= 1.3.0), owners, threshold, nonce, modules, guard and fallback handler.
 * @throws MofnError `safe.not_deployed`, `safe.unknown_singleton`, `safe.unsupported_version`, `safe.not_a_safe`
 */
export async function importSafe(
  clients: Pick<EvmClients, 'public' | 'chain'>,
  address: Address,
  options: { readonly allowList?: readonly KnownSingleton[] } = {},
): Promise<ImportedSafe> {
  const safe = getAddress(address);
  const code = await clients.public.getCode({ address: safe });
  if (code === undefined || code === '0x') {
    throw new MofnError('safe.not_deployed', `no contract at ${safe} on chain ${clients.chain.id}`, { details: { address: safe } });
  }
  // A Safe proxy keeps its singleton in storage slot 0 (SafeProxy.singleton).
  const singletonAddress = await readAddressSlot(clients, safe, numberToHex(0, { size: 32 }));
  const singletonCode = isAddressEqual(singletonAddress, zeroAddress) ? undefined : await clients.public.getCode({ address: singletonAddress });
  const codeHash = singletonCode === undefined || singletonCode === '0x' ? undefined : keccak256(singletonCode);
  const known = (options.allowList ?? KNOWN_SAFE_SINGLETONS).find((s) => isAddressEqual(s.address, singletonAddress) && codeHash !== undefined && s.codeHash.toLowerCase() === codeHash);
  if (known === undefined) {
    throw new MofnError('safe.unknown_singleton', `${safe} runs singleton ${singletonAddress} (code hash ${codeHash ?? 'none'}), not a known Safe deployment`, {
      details: { address: safe, singleton: singletonAddress, codeHash: codeHash ?? null },
      hint: 'mofn only imports Safes whose singleton is an allow-listed official deployment',
    });
  }
  let version: string;
  try {
    version = await clients.public.readContract({ address: safe, abi: SAFE_ABI, functionName: 'VERSION' });
  } catch (cause) {
    throw new MofnError('safe.not_a_safe', `${safe} does not answer VERSION()`, { cause, details: { address: safe } });
  }
  assertSupportedSafeVersion(version);
  const state = await readSafe(clients, safe);
  const modules: Address[] = [];
  try {
    let start = SENTINEL_MODULES;
    for (let page = 0; page < MAX_MODULE_PAGES; page++) {
      const [array, next] = await clients.public.readContract({ address: safe, abi: SAFE_ABI, functionName: 'getModulesPaginated', args: [start, MODULE_PAGE] });
      modules.push(...array.map((m) => getAddress(m)));
      if (array.length < Number(MODULE_PAGE) || isAddressEqual(next, SENTINEL_MODULES) || isAddressEqual(next, zeroAddress)) break;
      start = next;
    }
  } catch (cause) {
    throw new MofnError('safe.not_a_safe', `${safe} does not answer getModulesPaginated`, { cause, details: { address: safe } });
  }
  const [guard, fallbackHandler] = await Promise.all([readAddressSlot(clients, safe, GUARD_STORAGE_SLOT), readAddressSlot(clients, safe, FALLBACK_HANDLER_STORAGE_SLOT)]);
  const orUndefined = (a: Address): Address | undefined => (isAddressEqual(a, zeroAddress) ? undefined : a);
  return Object.freeze({
    address: safe,
    chainId: clients.chain.id,
    version,
    singleton: known,
    owners: state.owners,
    threshold: state.threshold,
    nonce: state.nonce,
    modules: Object.freeze(modules),
    guard: orUndefined(guard),
    fallbackHandler: orUndefined(fallbackHandler),
  });
}
