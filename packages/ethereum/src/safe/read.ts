/** Reading a deployed Safe's state. */
import { getAddress, type Address } from 'viem';
import { MofnError } from '@mofn/core';
import type { EvmClients } from '../client.ts';
import { SAFE_ABI } from './abi.ts';
import { hasCode } from './singletons.ts';

/** A Safe's on-chain state, as read by {@link readSafe}. */
export interface SafeState {
  readonly address: Address;
  readonly chainId: number;
  readonly version: string;
  /** Owners in the Safe's linked-list order, checksummed. */
  readonly owners: readonly Address[];
  readonly threshold: number;
  readonly nonce: bigint;
}

/**
 * Reads owners, threshold, nonce and version of a deployed Safe.
 * @throws MofnError `safe.not_deployed` (no code), `safe.not_a_safe` (calls fail), `chain.rpc_failed`
 */
export async function readSafe(clients: Pick<EvmClients, 'public' | 'chain'>, address: Address): Promise<SafeState> {
  const safe = getAddress(address);
  if (!(await hasCode(clients, safe))) {
    throw new MofnError('safe.not_deployed', `no contract at ${safe} on chain ${clients.chain.id}`, { details: { address: safe } });
  }
  const read = { address: safe, abi: SAFE_ABI } as const;
  try {
    const [version, owners, threshold, nonce] = await Promise.all([
      clients.public.readContract({ ...read, functionName: 'VERSION' }),
      clients.public.readContract({ ...read, functionName: 'getOwners' }),
      clients.public.readContract({ ...read, functionName: 'getThreshold' }),
      clients.public.readContract({ ...read, functionName: 'nonce' }),
    ]);
    return Object.freeze({
      address: safe,
      chainId: clients.chain.id,
      version,
      owners: Object.freeze(owners.map((o) => getAddress(o))),
      threshold: Number(threshold),
      nonce,
    });
  } catch (cause) {
    throw new MofnError('safe.not_a_safe', `${safe} does not answer as a Safe`, { cause, details: { address: safe } });
  }
}
