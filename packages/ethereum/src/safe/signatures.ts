/**
 * Safe owner signatures (Safe v1.4.1 `checkNSignatures`): EIP-712 (v 27/28), eth_sign (v 31/32, i.e.
 * v+4 over the EIP-191 prefixed safeTxHash), approved hash (v 1, r = owner, checked on chain), and
 * EIP-1271 contract signatures (v 0, r = owner contract, s = offset of a dynamic part; checked on chain).
 * Each is recovered, checked against the current owners, de-duplicated and sorted by owner.
 */
import {
  bytesToHex,
  concatHex,
  getAddress,
  hashMessage,
  hexToBigInt,
  hexToBytes,
  isAddress,
  isAddressEqual,
  isHex,
  numberToHex,
  pad,
  type Address,
  type Hex,
} from 'viem';
import { privateKeyToAccount, publicKeyToAddress } from 'viem/accounts';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { InvalidInputError, NotReadyError } from '@mofn/core';
import { getSafeTxHash, getSafeTxTypedData, type SafeDomain, type SafeTx } from './safeTx.ts';

/** How an owner authorised a SafeTx. */
export type SafeSignatureKind = 'eip712' | 'eth_sign' | 'approved_hash' | 'contract';

/**
 * One owner's signature as exchanged between cosigners: the 65 signature bytes, the owner who claims
 * it, and (optionally) the context the owner says they signed, used to name a mismatch precisely.
 */
export interface SafeSignature {
  readonly signer: Address;
  /**
   * 65 bytes `r || s || v`, hex; for a contract signature (v 0) the standalone form of
   * {@link encodeContractSignature}: `owner || uint256(65) || 00 || uint256(length) || bytes`.
   */
  readonly data: Hex;
  readonly chainId?: number;
  readonly safeAddress?: Address;
  readonly safeTxHash?: Hex;
}

/** A signature recovered and checked against the Safe's owners. */
export interface VerifiedSignature {
  readonly signer: Address;
  readonly kind: SafeSignatureKind;
  readonly data: Hex;
}

/** What a signature is checked against. */
export interface SignatureContext extends SafeDomain {
  readonly safeTxHash: Hex;
  readonly owners: readonly Address[];
}

// secp256k1 group order n; Safe's ecrecover accepts s > n/2 but no honest signer produces it (EIP-2).
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * A contract (EIP-1271) signature of `owner` in standalone form: the 65-byte static part with s = 65
 * (the offset of the dynamic part within this signature alone), then the length-prefixed `signature`
 * the owner contract checks. {@link encodeSafeSignatures} moves the dynamic part after all static parts.
 */
export function encodeContractSignature(owner: Address, signature: Hex): Hex {
  return concatHex([
    pad(getAddress(owner).toLowerCase() as Hex, { size: 32 }),
    numberToHex(65, { size: 32 }),
    '0x00',
    numberToHex((signature.length - 2) / 2, { size: 32 }),
    signature,
  ]);
}

/** The bytes an EIP-1271 owner contract is asked to validate: the dynamic part of a contract signature. */
export function contractSignatureBytes(sig: Pick<VerifiedSignature, 'kind' | 'data'>): Hex {
  if (sig.kind !== 'contract') throw new InvalidInputError('safe.bad_signature', `a ${sig.kind} signature has no contract signature bytes`);
  return `0x${sig.data.slice(2 + 97 * 2)}`;
}

/** The 65-byte approved-hash "signature" of `owner`: r = owner, s = 0, v = 1 (Safe.sol checkNSignatures). */
export function encodeApprovedHashSignature(owner: Address): Hex {
  return concatHex([pad(getAddress(owner).toLowerCase() as Hex, { size: 32 }), pad('0x', { size: 32 }), '0x01']);
}

/**
 * Signs a SafeTx with EIP-712 (eth_signTypedData_v4) from a raw private key (tests, software keystore).
 * @throws InvalidInputError `safe.bad_transaction`
 */
export async function signSafeTxEip712(privateKey: Hex, domain: SafeDomain, tx: SafeTx): Promise<SafeSignature> {
  const account = privateKeyToAccount(privateKey);
  const data = await account.signTypedData(getSafeTxTypedData(domain, tx));
  return Object.freeze({ signer: account.address, data, chainId: domain.chainId, safeAddress: getAddress(domain.safeAddress), safeTxHash: getSafeTxHash(domain, tx) });
}

/**
 * Signs the safeTxHash with eth_sign (EIP-191 personal message over the 32 raw bytes) and adds 4 to v,
 * the Safe's marker for this kind.
 * @throws InvalidInputError `safe.bad_transaction`
 */
export async function signSafeTxEthSign(privateKey: Hex, domain: SafeDomain, tx: SafeTx): Promise<SafeSignature> {
  const account = privateKeyToAccount(privateKey);
  const safeTxHash = getSafeTxHash(domain, tx);
  const signed = hexToBytes(await account.signMessage({ message: { raw: safeTxHash } }));
  signed[64] = signed[64]! + 4;
  return Object.freeze({ signer: account.address, data: bytesToHex(signed), chainId: domain.chainId, safeAddress: getAddress(domain.safeAddress), safeTxHash });
}

function bad(code: string, message: string, sig: SafeSignature, hint?: string): InvalidInputError {
  return new InvalidInputError(code, message, { details: { signer: sig.signer }, ...(hint === undefined ? {} : { hint }) });
}

/**
 * Recovers one signature over `ctx.safeTxHash` and checks it is from a current owner. Approved-hash
 * and contract signatures are only checked for form here: the caller checks `approvedHashes` and the
 * owner contract's `isValidSignature` on chain (see execute).
 * @throws InvalidInputError `safe.bad_signature` (malformed bytes, bad v, high s, unrecoverable),
 *   `safe.wrong_chain_id`, `safe.wrong_safe`, `safe.wrong_transaction` (the signature says it was made
 *   for another context), `safe.signer_mismatch` (recovers to another address than the claimed signer),
 *   `safe.unsupported_signature` (EIP-1271), `safe.wrong_owner` (not an owner)
 */
export function verifySafeSignature(ctx: SignatureContext, sig: SafeSignature): VerifiedSignature {
  if (typeof sig.signer !== 'string' || !isAddress(sig.signer, { strict: false })) {
    throw new InvalidInputError('safe.bad_signature', `signer is not an address: ${String(sig.signer)}`);
  }
  const signer = getAddress(sig.signer);
  const isContract = typeof sig.data === 'string' && isHex(sig.data) && sig.data.length > 2 + 65 * 2 && sig.data.slice(130, 132) === '00';
  if (typeof sig.data !== 'string' || !isHex(sig.data) || (sig.data.length !== 2 + 65 * 2 && !isContract)) {
    throw bad('safe.bad_signature', `signature of ${signer} must be 65 bytes of hex, got ${typeof sig.data === 'string' ? String((sig.data.length - 2) / 2) : typeof sig.data} bytes`, sig);
  }
  if (sig.chainId !== undefined && sig.chainId !== ctx.chainId) {
    throw bad('safe.wrong_chain_id', `signature of ${signer} was made for chain ${sig.chainId}, this Safe is on chain ${ctx.chainId}`, sig);
  }
  if (sig.safeAddress !== undefined && !isAddressEqual(sig.safeAddress, ctx.safeAddress)) {
    throw bad('safe.wrong_safe', `signature of ${signer} was made for Safe ${sig.safeAddress}, not ${getAddress(ctx.safeAddress)}`, sig);
  }
  if (sig.safeTxHash !== undefined && (typeof sig.safeTxHash !== 'string' || sig.safeTxHash.toLowerCase() !== ctx.safeTxHash.toLowerCase())) {
    throw bad('safe.wrong_transaction', `signature of ${signer} is for safeTxHash ${sig.safeTxHash}, expected ${ctx.safeTxHash}`, sig);
  }
  const r = hexToBigInt(`0x${sig.data.slice(2, 66)}`);
  const s = hexToBigInt(`0x${sig.data.slice(66, 130)}`);
  const v = Number.parseInt(sig.data.slice(130, 132), 16);
  let kind: SafeSignatureKind;
  let recovered: Address;
  if (v === 1) {
    kind = 'approved_hash';
    if (s !== 0n || r >> 160n !== 0n) throw bad('safe.bad_signature', `approved-hash signature of ${signer} must be r = owner, s = 0`, sig);
    recovered = getAddress(numberToHex(r, { size: 20 }));
  } else if (v === 0) {
    kind = 'contract';
    const length = sig.data.length >= 2 + 97 * 2 ? hexToBigInt(`0x${sig.data.slice(132, 196)}`) : -1n;
    if (r >> 160n !== 0n || s !== 65n || length !== BigInt((sig.data.length - 2 - 97 * 2) / 2)) {
      throw bad('safe.bad_signature', `contract signature of ${signer} must be owner || uint256(65) || 00 || uint256(length) || bytes`, sig);
    }
    recovered = getAddress(numberToHex(r, { size: 20 }));
  } else if (v === 27 || v === 28 || v === 31 || v === 32) {
    kind = v > 30 ? 'eth_sign' : 'eip712';
    if (r === 0n || r >= SECP256K1_N || s === 0n || s >= SECP256K1_N) throw bad('safe.bad_signature', `signature of ${signer} has r or s out of range`, sig);
    if (s > SECP256K1_N / 2n) throw bad('safe.bad_signature', `signature of ${signer} has a high s value (malleated)`, sig);
    const hash = kind === 'eth_sign' ? hashMessage({ raw: ctx.safeTxHash }) : ctx.safeTxHash;
    try {
      // Synchronous recovery (the core ChainAdapter port wants verifySignature pure and synchronous).
      const point = new secp256k1.Signature(r, s).addRecoveryBit((kind === 'eth_sign' ? v - 4 : v) - 27).recoverPublicKey(hexToBytes(hash));
      recovered = publicKeyToAddress(bytesToHex(point.toBytes(false)));
    } catch (cause) {
      throw new InvalidInputError('safe.bad_signature', `signature of ${signer} does not recover to a public key`, { cause, details: { signer } });
    }
  } else {
    throw bad('safe.bad_signature', `signature of ${signer} has unknown v = ${v}`, sig);
  }
  if (!isAddressEqual(recovered, signer)) {
    throw bad(
      'safe.signer_mismatch',
      `signature claimed by ${signer} recovers to ${recovered}`,
      sig,
      'it was made for another transaction, nonce, chain or Safe, or by another key',
    );
  }
  if (!ctx.owners.some((o) => isAddressEqual(o, signer))) {
    throw bad('safe.wrong_owner', `${signer} is not an owner of Safe ${getAddress(ctx.safeAddress)}`, sig);
  }
  return Object.freeze({ signer, kind, data: sig.data.toLowerCase() as Hex });
}

/** The static 65-byte part of each signature, then the dynamic parts of contract signatures (Safe.sol checkNSignatures layout). */
function layoutSignatures(sigs: readonly VerifiedSignature[]): Hex {
  const statics: Hex[] = [];
  const dynamics: Hex[] = [];
  let offset = sigs.length * 65;
  for (const sig of sigs) {
    if (sig.kind !== 'contract') {
      statics.push(sig.data);
      continue;
    }
    const dynamic: Hex = `0x${sig.data.slice(2 + 65 * 2)}`;
    statics.push(concatHex([`0x${sig.data.slice(2, 66)}`, numberToHex(offset, { size: 32 }), '0x00']));
    dynamics.push(dynamic);
    offset += (dynamic.length - 2) / 2;
  }
  return concatHex([...statics, ...dynamics]);
}

/**
 * Verifies every signature, refuses duplicates, and returns them sorted by owner address ascending
 * (the order Safe's checkNSignatures requires). Does not mutate `sigs`.
 * @throws InvalidInputError as {@link verifySafeSignature}, and `safe.duplicate_signer`
 */
export function verifySafeSignatures(ctx: SignatureContext, sigs: readonly SafeSignature[]): readonly VerifiedSignature[] {
  const verified: VerifiedSignature[] = [];
  for (const sig of sigs) {
    const one = verifySafeSignature(ctx, sig);
    if (verified.some((v) => isAddressEqual(v.signer, one.signer))) {
      throw new InvalidInputError('safe.duplicate_signer', `${one.signer} signed more than once`, { details: { signer: one.signer } });
    }
    verified.push(one);
  }
  return Object.freeze(sortSignatures(verified));
}

/** A sorted copy of `sigs`, ascending by owner address as a uint160. */
export function sortSignatures(sigs: readonly VerifiedSignature[]): VerifiedSignature[] {
  return [...sigs].sort((a, b) => {
    const x = BigInt(a.signer);
    const y = BigInt(b.signer);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/**
 * The `signatures` argument of execTransaction: the first `threshold` signatures by ascending owner.
 * @throws NotReadyError `safe.not_enough_signatures`; InvalidInputError `safe.duplicate_signer`
 */
export function encodeSafeSignatures(sigs: readonly VerifiedSignature[], threshold: number): Hex {
  const sorted = sortSignatures(sigs);
  for (let i = 1; i < sorted.length; i++) {
    if (isAddressEqual(sorted[i - 1]!.signer, sorted[i]!.signer)) {
      throw new InvalidInputError('safe.duplicate_signer', `${sorted[i]!.signer} signed more than once`);
    }
  }
  if (sorted.length < threshold) {
    throw new NotReadyError('safe.not_enough_signatures', `${sorted.length} valid signature(s), the Safe needs ${threshold}`, {
      details: { have: sorted.length, need: threshold },
      hint: `collect ${threshold - sorted.length} more owner signature(s)`,
    });
  }
  return layoutSignatures(sorted.slice(0, threshold));
}
