/**
 * The nonce queue: several proposals may share a nonce, exactly one of them can ever execute, and a
 * rejection (zero-value, no-data call to the Safe itself) is how owners cancel the others.
 */
import { getAddress, isAddressEqual, parseEventLogs, type Address, type Hex } from 'viem';
import { ConflictError } from '@mofn/core';
import type { EvmClients } from '../client.ts';
import { SAFE_ABI } from './abi.ts';
import { createSafeTx, type SafeTx } from './safeTx.ts';

/** Where a SafeTx's nonce stands against the Safe's current nonce. */
export type NonceStatus = 'stale' | 'next' | 'queued';

/** The rejection SafeTx at `nonce`: it does nothing but use the nonce up. */
export function createRejectionTx(safeAddress: Address, nonce: bigint): SafeTx {
  return createSafeTx({ to: getAddress(safeAddress), nonce });
}

/** True if `tx` is a rejection for `safeAddress`: a bare zero-value call to itself with no refund. Never throws. */
export function isRejectionTx(safeAddress: Address, tx: SafeTx): boolean {
  return (
    isAddressEqual(tx.to, safeAddress) &&
    tx.value === 0n &&
    tx.data === '0x' &&
    tx.operation === 0 &&
    tx.safeTxGas === 0n &&
    tx.baseGas === 0n &&
    tx.gasPrice === 0n &&
    BigInt(tx.gasToken) === 0n &&
    BigInt(tx.refundReceiver) === 0n
  );
}

/** `stale` when the nonce is used (something at it executed), `next` when it can execute now, else `queued`. */
export function nonceStatus(safeNonce: bigint, txNonce: bigint): NonceStatus {
  return txNonce < safeNonce ? 'stale' : txNonce === safeNonce ? 'next' : 'queued';
}

/**
 * Reads the Safe's nonce and classifies `tx` (see {@link nonceStatus}).
 * @throws viem errors on RPC failure
 */
export async function getNonceStatus(clients: Pick<EvmClients, 'public'>, safeAddress: Address, tx: SafeTx): Promise<NonceStatus> {
  const nonce = await clients.public.readContract({ address: getAddress(safeAddress), abi: SAFE_ABI, functionName: 'nonce' });
  return nonceStatus(nonce, tx.nonce);
}

/**
 * Refuses a SafeTx whose nonce is already used: it can never execute, so it must not be signed.
 * @throws ConflictError `safe.nonce_used`
 */
export async function assertNonceOpen(clients: Pick<EvmClients, 'public'>, safeAddress: Address, tx: SafeTx): Promise<void> {
  const nonce = await clients.public.readContract({ address: getAddress(safeAddress), abi: SAFE_ABI, functionName: 'nonce' });
  if (tx.nonce < nonce) {
    throw new ConflictError('safe.nonce_used', `nonce ${tx.nonce} of Safe ${getAddress(safeAddress)} is already used (current nonce ${nonce})`, {
      details: { nonce: tx.nonce, current: nonce },
      hint: 'another proposal at this nonce executed: this one is superseded; propose again at the current nonce',
    });
  }
}

/**
 * Which of `safeTxHashes` the Safe executed successfully, from its ExecutionSuccess events since
 * `fromBlock`: at a used nonce, the one found is the proposal that executed, the others are superseded.
 */
export async function findExecutedSafeTxHashes(
  clients: Pick<EvmClients, 'public'>,
  params: { readonly safeAddress: Address; readonly safeTxHashes: readonly Hex[]; readonly fromBlock?: bigint },
): Promise<readonly Hex[]> {
  const wanted = new Set(params.safeTxHashes.map((h) => h.toLowerCase()));
  const logs = await clients.public.getLogs({ address: getAddress(params.safeAddress), fromBlock: params.fromBlock ?? 0n, toBlock: 'latest' });
  const executed: Hex[] = [];
  for (const log of parseEventLogs({ abi: SAFE_ABI, eventName: 'ExecutionSuccess', logs })) {
    const hash = log.args.txHash.toLowerCase() as Hex;
    if (wanted.has(hash) && !executed.includes(hash)) executed.push(hash);
  }
  return Object.freeze(executed);
}
