/**
 * The Safe implementation of core's ChainAdapter port: the payload is a SafeTx of one Safe on one
 * chain, the single "input" is the safeTxHash (every entry has `input: 0`), a signature entry's key
 * is the owner address, and the finalized transaction is the sorted, encoded owner signatures.
 */
import { getAddress, isAddress, isAddressEqual, isHex, type Account, type Address, type Hex } from 'viem';
import { InvalidInputError, MofnError, NotReadyError, readinessOf } from '@mofn/core';
import type { BroadcastResult, ChainAdapter, ProposalReview, Readiness, ReviewWarning, SignatureEntry, SignatureSet } from '@mofn/core';
import type { EvmClients } from '../client.ts';
import type { DecodedCall } from './decode.ts';
import { executeSafeTx } from './execute.ts';
import { reviewSafeTx, type SafeDangerCode } from './review.ts';
import { assertSafeTx, getSafeDomainSeparator, getSafeTxHash, type SafeTx } from './safeTx.ts';
import { encodeSafeSignatures, sortSignatures, verifySafeSignature, type SafeSignature, type VerifiedSignature } from './signatures.ts';

/** One Safe owner as a cosigner of the wallet: its address and the cosigner id proposals use. */
export interface SafeOwner {
  readonly address: Address;
  readonly cosigner: string;
}

/** Parameters of {@link createSafeAdapter}. */
export interface SafeAdapterConfig {
  readonly safeAddress: Address;
  readonly chainId: number;
  /** The Safe's owners: a bare address is its own cosigner id (lowercase). */
  readonly owners: readonly (Address | SafeOwner)[];
  readonly threshold: number;
  /** The account that sends execTransaction (pays the gas). */
  readonly executor: Account | Address;
  /** The one DELEGATECALL target reviews trust (default: the canonical v1.4.1 MultiSendCallOnly). */
  readonly multiSendCallOnly?: Address;
  /** The MultiSend whose batches reviews decode, never trusted (default: the canonical v1.4.1 MultiSend). */
  readonly multiSend?: Address;
}

/** A {@link ProposalReview} with the Safe-specific digests a cosigner compares with their signing device. */
export interface SafeReview extends ProposalReview {
  readonly safeTxHash: Hex;
  readonly domainSeparator: Hex;
  readonly nonce: bigint;
  /** The decoded SafeTx (MultiSend batches decoded recursively). */
  readonly call: DecodedCall;
  /** Danger codes among `warnings`: each must be acknowledged before signing (assertDangersAcknowledged). */
  readonly dangers: readonly SafeDangerCode[];
}

/** A finalized Safe transaction: the SafeTx and exactly `threshold` verified signatures, sorted by owner. */
export interface SafeFinal {
  readonly chainId: number;
  readonly safeAddress: Address;
  readonly tx: SafeTx;
  readonly safeTxHash: Hex;
  readonly signatures: readonly VerifiedSignature[];
  /** The `signatures` argument of execTransaction. */
  readonly encodedSignatures: Hex;
}

/** The outcome of {@link SafeAdapter.broadcast}: `txid` is the Ethereum transaction that ran execTransaction. */
export interface SafeBroadcastResult extends BroadcastResult {
  readonly safeTxHash: Hex;
  readonly gasUsed: bigint;
  readonly blockNumber: bigint;
}

/** The Safe chain adapter, with helpers to turn owner signatures into core signature entries. */
export interface SafeAdapter extends ChainAdapter<SafeTx, SafeFinal> {
  readonly chainId: number;
  readonly safeAddress: Address;
  readonly threshold: number;
  readonly owners: readonly SafeOwner[];
  describe(payload: SafeTx): SafeReview;
  broadcast(final: SafeFinal): Promise<SafeBroadcastResult>;
  /**
   * The signature entry of an owner's signature (cosigner looked up from the owner address).
   * Checks only form and labels, not the signature itself: run {@link ChainAdapter.verifySignature} next.
   * Contract (EIP-1271) signatures are refused here: they can only be checked on chain (executeSafeTx).
   * @throws InvalidInputError `safe.wrong_owner`, `safe.wrong_chain_id`, `safe.wrong_safe`, `safe.bad_signature`
   */
  entryOf(sig: SafeSignature): SignatureEntry;
}

const SIGNATURE_HEX = /^[0-9a-f]{130}$/;

function bad(message: string, field: string): InvalidInputError {
  return new InvalidInputError('safe.bad_adapter_config', message, { details: { field } });
}

function normalizeOwners(owners: SafeAdapterConfig['owners']): readonly SafeOwner[] {
  if (owners.length === 0) throw bad('owners must be a non-empty list', 'owners');
  const out: SafeOwner[] = [];
  for (const o of owners) {
    const address = typeof o === 'string' ? o : o.address;
    if (typeof address !== 'string' || !isAddress(address, { strict: false })) throw bad(`owner is not an address: ${String(address)}`, 'owners');
    const cosigner = typeof o === 'string' ? address.toLowerCase() : o.cosigner;
    if (typeof cosigner !== 'string' || cosigner.length === 0) throw bad(`owner ${address} has no cosigner id`, 'owners');
    if (out.some((x) => isAddressEqual(x.address, address))) throw bad(`owner ${getAddress(address)} is listed twice`, 'owners');
    if (out.some((x) => x.cosigner === cosigner)) throw bad(`cosigner id '${cosigner}' is used by two owners`, 'owners');
    out.push(Object.freeze({ address: getAddress(address), cosigner }));
  }
  return Object.freeze(out);
}

/**
 * Creates the ChainAdapter of one Safe on one chain. `owners` and `threshold` are what cosigners
 * agreed on; `broadcast` re-reads them from the chain (via executeSafeTx) before sending anything.
 * @throws InvalidInputError `safe.bad_adapter_config`; MofnError `chain.wrong_chain_id` when `clients` is on another chain
 */
export function createSafeAdapter(clients: EvmClients, config: SafeAdapterConfig): SafeAdapter {
  if (typeof config.safeAddress !== 'string' || !isAddress(config.safeAddress, { strict: false })) {
    throw bad(`safeAddress is not an address: ${String(config.safeAddress)}`, 'safeAddress');
  }
  if (!Number.isSafeInteger(config.chainId) || config.chainId <= 0) throw bad(`chainId must be a positive integer, got ${String(config.chainId)}`, 'chainId');
  if (clients.chain.id !== config.chainId) {
    throw new MofnError('chain.wrong_chain_id', `the RPC clients are on chain ${clients.chain.id}, the Safe adapter is for chain ${config.chainId}`, {
      details: { chainId: clients.chain.id, expectedChainId: config.chainId },
    });
  }
  const owners = normalizeOwners(config.owners);
  const { threshold, chainId, executor } = config;
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > owners.length) {
    throw bad(`threshold ${String(threshold)} must be between 1 and the ${owners.length} owners`, 'threshold');
  }
  const safeAddress = getAddress(config.safeAddress);
  const executorAddress = getAddress(typeof executor === 'string' ? executor : executor.address);
  const domain = Object.freeze({ chainId, safeAddress });
  const chain = `eip155:${chainId}`;
  const ownerAddresses = Object.freeze(owners.map((o) => o.address));
  const cosigners = Object.freeze(owners.map((o) => o.cosigner));
  for (const field of ['multiSendCallOnly', 'multiSend'] as const) {
    const value = config[field];
    if (value !== undefined && (typeof value !== 'string' || !isAddress(value, { strict: false }))) throw bad(`${field} is not an address: ${String(value)}`, field);
  }
  const reviewContext = Object.freeze({
    safeAddress,
    threshold,
    ...(config.multiSendCallOnly === undefined ? {} : { multiSendCallOnly: getAddress(config.multiSendCallOnly) }),
    ...(config.multiSend === undefined ? {} : { multiSend: getAddress(config.multiSend) }),
  });

  /** The verified signature behind `entry`, or undefined (never throws). */
  function verifyEntry(payload: SafeTx, entry: SignatureEntry): VerifiedSignature | undefined {
    try {
      if (entry.input !== 0 || typeof entry.signature !== 'string' || !SIGNATURE_HEX.test(entry.signature)) return undefined;
      const owner = owners.find((o) => o.address.toLowerCase() === entry.publicKey);
      if (owner === undefined || owner.cosigner !== entry.cosigner) return undefined;
      const safeTxHash = getSafeTxHash(domain, payload);
      const verified = verifySafeSignature({ ...domain, safeTxHash, owners: ownerAddresses }, { signer: owner.address, data: `0x${entry.signature}` });
      // An approved hash (v = 1) is a fact on chain, not in the signature: offline it only counts for
      // the executor, whom Safe.sol accepts as msg.sender without an approvedHashes entry.
      if (verified.kind === 'approved_hash' && !isAddressEqual(verified.signer, executorAddress)) return undefined;
      return verified;
    } catch {
      return undefined;
    }
  }

  function validSignatures(payload: SafeTx, signatures: SignatureSet): VerifiedSignature[] {
    const out: VerifiedSignature[] = [];
    for (const entry of signatures) {
      const v = verifyEntry(payload, entry);
      if (v !== undefined && !out.some((x) => isAddressEqual(x.signer, v.signer))) out.push(v);
    }
    return sortSignatures(out);
  }

  const adapter: SafeAdapter = {
    chain,
    chainId,
    safeAddress,
    threshold,
    owners,

    describe(payload: SafeTx): SafeReview {
      assertSafeTx(payload);
      const safeTxHash = getSafeTxHash(domain, payload);
      const domainSeparator = getSafeDomainSeparator(domain);
      const warnings: ReviewWarning[] = [
        // Hardware wallets show these two digests when signing EIP-712: the reviewer compares them.
        { code: 'safe.tx_hash', message: `safeTxHash ${safeTxHash} (nonce ${payload.nonce}): check that your signing device shows this hash` },
        { code: 'safe.domain_separator', message: `domain separator ${domainSeparator} (Safe ${safeAddress} on chain ${chainId})` },
      ];
      const review = reviewSafeTx(payload, reviewContext);
      warnings.push(...review.warnings);
      return Object.freeze({
        chain,
        inputCount: 1,
        outputs: review.outputs,
        warnings: Object.freeze(warnings.map((w) => Object.freeze(w))),
        // The nonce is what a SafeTx consumes: two proposals with the same nonce supersede each other.
        spends: Object.freeze([`${chain}:${safeAddress.toLowerCase()}:nonce:${payload.nonce}`]),
        safeTxHash,
        domainSeparator,
        nonce: payload.nonce,
        call: review.call,
        dangers: review.dangers,
      });
    },

    verifySignature(payload: SafeTx, entry: SignatureEntry): boolean {
      return verifyEntry(payload, entry) !== undefined;
    },

    countValid(payload: SafeTx, signatures: SignatureSet): Readiness {
      return readinessOf(signatures, { inputCount: 1, threshold, cosigners, isValid: (e) => verifyEntry(payload, e) !== undefined });
    },

    finalize(payload: SafeTx, signatures: SignatureSet): SafeFinal {
      assertSafeTx(payload);
      const valid = validSignatures(payload, signatures);
      if (valid.length < threshold) {
        throw new NotReadyError('safe.not_enough_signatures', `${valid.length} valid owner signature(s), the Safe needs ${threshold}`, {
          details: { have: valid.length, need: threshold },
          hint: `collect ${threshold - valid.length} more owner signature(s)`,
        });
      }
      const chosen = Object.freeze(valid.slice(0, threshold));
      return Object.freeze({
        chainId,
        safeAddress,
        tx: payload,
        safeTxHash: getSafeTxHash(domain, payload),
        signatures: chosen,
        encodedSignatures: encodeSafeSignatures(chosen, threshold),
      });
    },

    async broadcast(final: SafeFinal): Promise<SafeBroadcastResult> {
      if (final.chainId !== chainId || !isAddressEqual(final.safeAddress, safeAddress)) {
        throw new InvalidInputError('safe.wrong_safe', `finalized transaction is for Safe ${final.safeAddress} on chain ${final.chainId}, this adapter is Safe ${safeAddress} on chain ${chainId}`);
      }
      const labelled: SafeSignature[] = final.signatures.map((s) => ({ signer: s.signer, data: s.data, chainId, safeAddress, safeTxHash: final.safeTxHash }));
      // executeSafeTx re-reads owners, threshold and nonce, re-verifies, and simulates before sending.
      const done = await executeSafeTx(clients, { safeAddress, tx: final.tx, signatures: labelled, account: executor });
      return Object.freeze({ txid: done.txHash, safeTxHash: done.safeTxHash, gasUsed: done.gasUsed, blockNumber: done.blockNumber });
    },

    entryOf(sig: SafeSignature): SignatureEntry {
      const signer: unknown = sig.signer;
      const owner = typeof signer === 'string' && isAddress(signer, { strict: false }) ? owners.find((o) => isAddressEqual(o.address, signer)) : undefined;
      if (owner === undefined) {
        const shown = typeof signer === 'string' ? signer.slice(0, 60) : `<${typeof signer}>`;
        throw new InvalidInputError('safe.wrong_owner', `${shown} is not an owner of Safe ${safeAddress}`, { details: { signer: shown } });
      }
      if (sig.chainId !== undefined && sig.chainId !== chainId) {
        throw new InvalidInputError('safe.wrong_chain_id', `signature of ${owner.address} was made for chain ${sig.chainId}, this Safe is on chain ${chainId}`);
      }
      if (sig.safeAddress !== undefined && !isAddressEqual(sig.safeAddress, safeAddress)) {
        throw new InvalidInputError('safe.wrong_safe', `signature of ${owner.address} was made for Safe ${sig.safeAddress}, not ${safeAddress}`);
      }
      if (typeof sig.data !== 'string' || !isHex(sig.data) || sig.data.length !== 132) {
        throw new InvalidInputError('safe.bad_signature', `signature of ${owner.address} must be 65 bytes of hex`);
      }
      return Object.freeze({ input: 0, publicKey: owner.address.toLowerCase(), cosigner: owner.cosigner, signature: sig.data.slice(2).toLowerCase() });
    },
  };
  return Object.freeze(adapter);
}
