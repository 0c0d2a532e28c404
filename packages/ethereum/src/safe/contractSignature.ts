/**
 * EIP-1271 contract signatures by a Safe that owns another Safe. Safe v1.4.1 asks the owner contract
 * `isValidSignature(txHashData, signature)`; the owner Safe's CompatibilityFallbackHandler answers by
 * checking its own owners' signatures over the EIP-712 `SafeMessage(bytes message)` of that data.
 */
import { getAddress, hashTypedData, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { encodeSafeTxData, getSafeTxHash, type SafeDomain, type SafeTx } from './safeTx.ts';
import { encodeContractSignature, encodeSafeSignatures, verifySafeSignatures, type SafeSignature } from './signatures.ts';

/** The EIP-712 types of a Safe message (CompatibilityFallbackHandler `SAFE_MSG_TYPEHASH`), frozen. */
export const SAFE_MESSAGE_TYPES = Object.freeze({ SafeMessage: Object.freeze([{ name: 'message', type: 'bytes' }] as const) } as const);

/** The EIP-712 typed data an owner of the Safe `domain.safeAddress` signs to approve `message`. */
export function getSafeMessageTypedData(domain: SafeDomain, message: Hex) {
  return {
    domain: { chainId: domain.chainId, verifyingContract: domain.safeAddress },
    types: SAFE_MESSAGE_TYPES,
    primaryType: 'SafeMessage',
    message: { message },
  } as const;
}

/** The Safe message hash (CompatibilityFallbackHandler `getMessageHashForSafe`). */
export function getSafeMessageHash(domain: SafeDomain, message: Hex): Hex {
  return hashTypedData(getSafeMessageTypedData(domain, message));
}

/** A Safe that owns another Safe, as its contract signature needs it. */
export interface OwnerSafe {
  readonly address: Address;
  readonly owners: readonly Address[];
  readonly threshold: number;
}

/**
 * An owner of `ownerSafe` signs (EIP-712) the child Safe's SafeTx as a Safe message of `ownerSafe`.
 * The returned signature is over the message hash, for {@link createNestedSafeSignature}.
 * @throws InvalidInputError `safe.bad_transaction`
 */
export async function signSafeTxForOwnerSafe(privateKey: Hex, ownerSafe: Address, childDomain: SafeDomain, tx: SafeTx): Promise<SafeSignature> {
  const account = privateKeyToAccount(privateKey);
  const parentDomain = { chainId: childDomain.chainId, safeAddress: getAddress(ownerSafe) };
  const message = encodeSafeTxData(childDomain, tx);
  const data = await account.signTypedData(getSafeMessageTypedData(parentDomain, message));
  return Object.freeze({ signer: account.address, data, chainId: childDomain.chainId, safeAddress: parentDomain.safeAddress, safeTxHash: getSafeMessageHash(parentDomain, message) });
}

/**
 * The contract signature of `ownerSafe` on the child Safe's SafeTx: its owners' signatures (checked
 * against its owners, at least its threshold, sorted) wrapped as an EIP-1271 signature.
 * @throws InvalidInputError (signature codes of verifySafeSignature), NotReadyError `safe.not_enough_signatures`
 */
export function createNestedSafeSignature(params: {
  readonly ownerSafe: OwnerSafe;
  readonly childDomain: SafeDomain;
  readonly tx: SafeTx;
  readonly signatures: readonly SafeSignature[];
}): SafeSignature {
  const { ownerSafe, childDomain, tx } = params;
  const parentDomain = { chainId: childDomain.chainId, safeAddress: getAddress(ownerSafe.address) };
  const messageHash = getSafeMessageHash(parentDomain, encodeSafeTxData(childDomain, tx));
  const verified = verifySafeSignatures({ ...parentDomain, safeTxHash: messageHash, owners: ownerSafe.owners }, params.signatures);
  const inner = encodeSafeSignatures(verified, ownerSafe.threshold);
  return Object.freeze({
    signer: parentDomain.safeAddress,
    data: encodeContractSignature(parentDomain.safeAddress, inner),
    chainId: childDomain.chainId,
    safeAddress: getAddress(childDomain.safeAddress),
    safeTxHash: getSafeTxHash(childDomain, tx),
  });
}
