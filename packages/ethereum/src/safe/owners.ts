/**
 * Governance proposals: SafeTxs calling the Safe itself to add, remove or swap an owner or change
 * the threshold. Checked against the Safe's current owners as the contract would (GS2xx), before
 * anyone signs a transaction that could only revert.
 */
import { encodeFunctionData, getAddress, isAddress, isAddressEqual, zeroAddress, type Address, type Hex } from 'viem';
import { InvalidAddressError, InvalidInputError } from '@mofn/core';
import { SAFE_ADMIN_ABI } from './abi.ts';
import { createSafeTx, type SafeTx } from './safeTx.ts';

/** The Safe's owners linked list starts (and ends) at this sentinel (OwnerManager.SENTINEL_OWNERS). */
export const SENTINEL_OWNERS: Address = '0x0000000000000000000000000000000000000001';

/** What owner proposals are checked against: read it with readSafe (owners in linked-list order). */
export interface OwnerSet {
  readonly address: Address;
  readonly owners: readonly Address[];
  readonly threshold: number;
  readonly nonce: bigint;
}

function bad(code: string, message: string, details?: Record<string, unknown>): InvalidInputError {
  return new InvalidInputError(code, message, details === undefined ? {} : { details });
}

function checked(name: string, value: unknown): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) throw new InvalidAddressError('address.invalid', `${name} is not an address: ${String(value)}`);
  return getAddress(value);
}

function assertThreshold(threshold: number, owners: number): void {
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > owners) {
    throw bad('safe.bad_threshold', `threshold must be 1..${owners}, got ${String(threshold)}`, { threshold, owners });
  }
}

function indexOfOwner(safe: OwnerSet, owner: Address): number {
  const i = safe.owners.findIndex((o) => isAddressEqual(o, owner));
  if (i < 0) throw bad('safe.not_an_owner', `${owner} is not an owner of Safe ${safe.address}`, { owner });
  return i;
}

function assertNewOwner(safe: OwnerSet, owner: Address): void {
  if (isAddressEqual(owner, zeroAddress) || isAddressEqual(owner, SENTINEL_OWNERS) || isAddressEqual(owner, safe.address)) {
    throw bad('safe.bad_owner', `${owner} cannot be an owner of Safe ${safe.address} (GS203)`);
  }
  if (safe.owners.some((o) => isAddressEqual(o, owner))) throw bad('safe.duplicate_owner', `${owner} is already an owner (GS204)`, { owner });
}

/**
 * The owner before `owner` in the Safe's linked list (`getOwners()` order), the sentinel for the first:
 * the `prevOwner` argument of removeOwner and swapOwner.
 * @throws InvalidInputError `safe.not_an_owner`
 */
export function getPrevOwner(safe: OwnerSet, owner: Address): Address {
  const i = indexOfOwner(safe, getAddress(owner));
  return i === 0 ? SENTINEL_OWNERS : safe.owners[i - 1]!;
}

function selfCall(safe: OwnerSet, data: Hex, nonce: bigint | undefined): SafeTx {
  return createSafeTx({ to: safe.address, data, nonce: nonce ?? safe.nonce });
}

/**
 * A SafeTx adding `owner` and setting the threshold (default: unchanged).
 * @throws InvalidAddressError `address.invalid`; InvalidInputError `safe.bad_owner`, `safe.duplicate_owner`, `safe.bad_threshold`
 */
export function createAddOwnerTx(safe: OwnerSet, params: { readonly owner: Address; readonly threshold?: number; readonly nonce?: bigint }): SafeTx {
  const owner = checked('owner', params.owner);
  assertNewOwner(safe, owner);
  const threshold = params.threshold ?? safe.threshold;
  assertThreshold(threshold, safe.owners.length + 1);
  return selfCall(safe, encodeFunctionData({ abi: SAFE_ADMIN_ABI, functionName: 'addOwnerWithThreshold', args: [owner, BigInt(threshold)] }), params.nonce);
}

/**
 * A SafeTx removing `owner` (prevOwner computed from the owner list) and setting the threshold
 * (default: unchanged, or lowered to the new owner count if it would exceed it).
 * @throws InvalidAddressError `address.invalid`; InvalidInputError `safe.not_an_owner`, `safe.bad_threshold` (including removing the last owner)
 */
export function createRemoveOwnerTx(safe: OwnerSet, params: { readonly owner: Address; readonly threshold?: number; readonly nonce?: bigint }): SafeTx {
  const owner = checked('owner', params.owner);
  const prevOwner = getPrevOwner(safe, owner);
  const remaining = safe.owners.length - 1;
  const threshold = params.threshold ?? Math.min(safe.threshold, remaining);
  assertThreshold(threshold, remaining);
  return selfCall(safe, encodeFunctionData({ abi: SAFE_ADMIN_ABI, functionName: 'removeOwner', args: [prevOwner, owner, BigInt(threshold)] }), params.nonce);
}

/**
 * A SafeTx replacing `oldOwner` by `newOwner` (threshold unchanged).
 * @throws InvalidAddressError `address.invalid`; InvalidInputError `safe.not_an_owner`, `safe.bad_owner`, `safe.duplicate_owner`
 */
export function createSwapOwnerTx(safe: OwnerSet, params: { readonly oldOwner: Address; readonly newOwner: Address; readonly nonce?: bigint }): SafeTx {
  const oldOwner = checked('oldOwner', params.oldOwner);
  const newOwner = checked('newOwner', params.newOwner);
  const prevOwner = getPrevOwner(safe, oldOwner);
  assertNewOwner(safe, newOwner);
  return selfCall(safe, encodeFunctionData({ abi: SAFE_ADMIN_ABI, functionName: 'swapOwner', args: [prevOwner, oldOwner, newOwner] }), params.nonce);
}

/**
 * A SafeTx changing the threshold.
 * @throws InvalidInputError `safe.bad_threshold` (out of 1..owners, or equal to the current one)
 */
export function createChangeThresholdTx(safe: OwnerSet, params: { readonly threshold: number; readonly nonce?: bigint }): SafeTx {
  assertThreshold(params.threshold, safe.owners.length);
  if (params.threshold === safe.threshold) throw bad('safe.bad_threshold', `the threshold is already ${safe.threshold}`, { threshold: params.threshold });
  return selfCall(safe, encodeFunctionData({ abi: SAFE_ADMIN_ABI, functionName: 'changeThreshold', args: [BigInt(params.threshold)] }), params.nonce);
}
