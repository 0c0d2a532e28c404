/**
 * Owner signatures of stored proposals: made by a keystore here, or made elsewhere (from the exported
 * EIP-712 typed data) and imported from a file. Every one is recovered and checked against the Safe's
 * owners on chain before it is stored, and at most one is stored per (safeTxHash, owner).
 */
import { getAddress, isAddressEqual, type Address, type Hex } from 'viem';
import { ConflictError, InvalidInputError } from '@mofn/core';
import {
  SAFE_ABI,
  SAFE_TX_TYPES,
  SIGNATURE_VALIDATOR_ABI,
  contractSignatureBytes,
  encodeSafeTxData,
  readSafe,
  verifySafeSignature,
  type EvmClients,
  type SafeDomain,
  type SafeSignature,
  type SafeTx,
  type VerifiedSignature,
} from '@mofn/ethereum';
import type { ServiceContext } from '../context.ts';
import { changeSafe, getSafeProposal, getStoredSafe, openSafeClients, safeTxToJson, type SafeProposal, type StoredSafe } from './records.ts';
import { refreshSafeQueue } from './queue.ts';
import { assertReviewAcknowledged, reviewSafeProposal } from './review.ts';

/** What signs a SafeTx as one owner (the keystore's Ethereum key implements it in @mofn/signers). */
export interface SafeTxSigner {
  readonly address: Address;
  signSafeTx(domain: SafeDomain, tx: SafeTx): Promise<SafeSignature>;
}

/** A signature stored for a proposal. */
export interface StoredSignature {
  readonly owner: Address;
  readonly kind: VerifiedSignature['kind'];
  readonly safeTxHash: Hex;
  /** Signatures now held by the proposal, and the Safe's threshold. */
  readonly count: number;
  readonly threshold: number;
}

const SIGNATURE_FILE_KEYS = ['signer', 'data', 'signature', 'chainId', 'safeAddress', 'safeTxHash'];

function badFile(message: string): InvalidInputError {
  return new InvalidInputError('safe.bad_signature_file', message, { hint: 'a signature file is JSON: { "signer": "0x<owner>", "data": "0x<65 bytes>", "chainId": N, "safeAddress": "0x...", "safeTxHash": "0x..." }' });
}

/**
 * Parses an untrusted signature file: `{ signer, data }` (or `signature` for `data`) and optionally the
 * `chainId`, `safeAddress` and `safeTxHash` it was made for. Checks only shape: verification comes next.
 * @throws InvalidInputError `safe.bad_signature_file`
 */
export function parseSafeSignatureFile(text: string): SafeSignature {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badFile('the signature file is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badFile('the signature file must hold a JSON object');
  const o = value as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => !SIGNATURE_FILE_KEYS.includes(k));
  if (unknownKey !== undefined) throw badFile(`unknown field '${unknownKey.slice(0, 40)}' in the signature file`);
  const data = o['data'] ?? o['signature'];
  if (typeof o['signer'] !== 'string') throw badFile('"signer" must be the owner address as a string');
  if (typeof data !== 'string') throw badFile('"data" must be the signature as a 0x hex string');
  const chainId = o['chainId'];
  if (chainId !== undefined && (typeof chainId !== 'number' || !Number.isSafeInteger(chainId))) throw badFile('"chainId" must be an integer');
  for (const k of ['safeAddress', 'safeTxHash'] as const) if (o[k] !== undefined && typeof o[k] !== 'string') throw badFile(`"${k}" must be a string`);
  return Object.freeze({
    signer: o['signer'] as Address,
    data: data as Hex,
    ...(chainId === undefined ? {} : { chainId }),
    ...(o['safeAddress'] === undefined ? {} : { safeAddress: o['safeAddress'] as Address }),
    ...(o['safeTxHash'] === undefined ? {} : { safeTxHash: o['safeTxHash'] as Hex }),
  });
}

/** The JSON of a signature file for `sig` (what {@link parseSafeSignatureFile} reads). */
export function formatSafeSignatureFile(sig: SafeSignature): string {
  return `${JSON.stringify({ signer: sig.signer, data: sig.data, chainId: sig.chainId, safeAddress: sig.safeAddress, safeTxHash: sig.safeTxHash }, null, 2)}\n`;
}

function assertOpen(p: SafeProposal): void {
  if (p.state !== 'open') {
    throw new ConflictError('safe.proposal_closed', `proposal ${p.id} is ${p.state}: it can no longer be signed or executed`, { details: { state: p.state } });
  }
}

/** Re-reads the Safe, closes used nonces, and refuses a proposal whose nonce is used. Returns the current owners. */
async function liveOwners(ctx: ServiceContext, safe: StoredSafe, p: SafeProposal, clients: EvmClients): Promise<{ owners: readonly Address[]; threshold: number; nonce: bigint }> {
  const state = await readSafe(clients, safe.address);
  if (p.nonce < state.nonce) {
    await refreshSafeQueue(ctx, safe, clients, state.nonce);
    throw new ConflictError('safe.nonce_used', `nonce ${p.nonce} of Safe '${safe.name}' is already used (current nonce ${state.nonce}): proposal ${p.id} can never execute`, {
      details: { nonce: p.nonce, current: state.nonce },
    });
  }
  return state;
}

/** Checks on chain what cannot be checked from the bytes alone: approved hashes and EIP-1271 owner contracts. */
async function assertOnChainValid(clients: EvmClients, safe: StoredSafe, tx: SafeTx, safeTxHash: Hex, sig: VerifiedSignature): Promise<void> {
  if (sig.kind === 'approved_hash') {
    const approved = await clients.public.readContract({ address: safe.address, abi: SAFE_ABI, functionName: 'approvedHashes', args: [sig.signer, safeTxHash] });
    if (approved === 0n) {
      throw new InvalidInputError('safe.hash_not_approved', `${sig.signer} has not approved safeTxHash ${safeTxHash} on chain`, { hint: 'the owner must call approveHash first, or sign the transaction' });
    }
  } else if (sig.kind === 'contract') {
    let answer: Hex | undefined;
    try {
      const data = encodeSafeTxData({ chainId: safe.chainId, safeAddress: safe.address }, tx);
      answer = await clients.public.readContract({ address: sig.signer, abi: SIGNATURE_VALIDATOR_ABI, functionName: 'isValidSignature', args: [data, contractSignatureBytes(sig)] });
    } catch {
      answer = undefined;
    }
    // Safe v1.4.1 asks owner contracts the legacy EIP-1271 question; this is its magic value.
    if (answer?.toLowerCase() !== '0x20c13b0b') {
      throw new InvalidInputError('safe.bad_contract_signature', `owner contract ${sig.signer} does not validate its signature of safeTxHash ${safeTxHash} (EIP-1271)`);
    }
  }
}

async function store(ctx: ServiceContext, safe: StoredSafe, p: SafeProposal, sig: VerifiedSignature, source: 'keystore' | 'file', threshold: number, actor: string): Promise<StoredSignature> {
  const count = await changeSafe(ctx, safe, actor, async ({ trx, at }, record) => {
    // Re-read under the lock: the proposal may have been executed or cancelled since it was checked.
    const now = await trx.selectFrom('safe_proposals').select('state').where('safe_tx_hash', '=', p.safeTxHash).executeTakeFirst();
    if (now !== undefined && now.state !== 'open') assertOpen({ ...p, state: now.state as SafeProposal['state'] });
    const existing = await trx.selectFrom('safe_signatures').select('owner').where('safe_tx_hash', '=', p.safeTxHash).where('owner', '=', sig.signer).executeTakeFirst();
    if (existing !== undefined) {
      throw new ConflictError('safe.duplicate_signer', `${sig.signer} has already signed proposal ${p.id} (safeTxHash ${p.safeTxHash})`, { details: { signer: sig.signer } });
    }
    await trx.insertInto('safe_signatures').values({ safe_tx_hash: p.safeTxHash, owner: sig.signer, kind: sig.kind, signature: sig.data, source, created_at: at }).execute();
    await trx.updateTable('safe_proposals').set({ updated_at: at }).where('safe_tx_hash', '=', p.safeTxHash).execute();
    const n = await trx.selectFrom('safe_signatures').select((eb) => eb.fn.countAll<number | string>().as('n')).where('safe_tx_hash', '=', p.safeTxHash).executeTakeFirstOrThrow();
    const held = Number(n.n);
    await record('safe.signature_added', { proposal: p.id, safeTxHash: p.safeTxHash, owner: sig.signer, kind: sig.kind, signatures: held, threshold }, 'signature.added');
    if (held === threshold) await record('safe.proposal_ready', { proposal: p.id, safeTxHash: p.safeTxHash, signatures: held }, 'proposal.ready');
    return held;
  });
  return Object.freeze({ owner: sig.signer, kind: sig.kind, safeTxHash: p.safeTxHash, count, threshold });
}

async function verifyAndStore(ctx: ServiceContext, safe: StoredSafe, p: SafeProposal, sig: SafeSignature, source: 'keystore' | 'file', actor: string): Promise<StoredSignature> {
  const clients = await openSafeClients(safe);
  const live = await liveOwners(ctx, safe, p, clients);
  // The hash is recomputed from the stored SafeTx; the one stored beside it is only an index.
  const review = await reviewSafeProposal(ctx, { safe: safe.name, id: p.id });
  const verified = verifySafeSignature({ chainId: safe.chainId, safeAddress: safe.address, safeTxHash: review.safeTxHash, owners: live.owners }, sig);
  await assertOnChainValid(clients, safe, p.tx, review.safeTxHash, verified);
  return store(ctx, safe, p, verified, source, live.threshold, actor);
}

/**
 * Imports an owner's signature made elsewhere: recovered, checked against the chain id, Safe, SafeTx
 * and current owners, then stored. Nothing is stored when any check fails.
 * @throws InvalidInputError `safe.bad_signature`, `safe.wrong_chain_id`, `safe.wrong_safe`, `safe.wrong_transaction`,
 *   `safe.signer_mismatch`, `safe.wrong_owner`, `safe.hash_not_approved`, `safe.bad_contract_signature`;
 *   ConflictError `safe.duplicate_signer`, `safe.proposal_closed`, `safe.nonce_used`; NotFoundError `safe.proposal_not_found`
 */
export async function addSafeSignature(
  ctx: ServiceContext,
  params: { readonly safe: string; readonly id: string | number; readonly signature: SafeSignature; readonly actor?: string },
): Promise<StoredSignature> {
  const safe = await getStoredSafe(ctx, params.safe);
  const p = await getSafeProposal(ctx.db, safe.name, params.id);
  assertOpen(p);
  return verifyAndStore(ctx, safe, p, params.signature, 'file', params.actor ?? 'cli');
}

/**
 * Signs a proposal with `signer` after the danger flags of its review are acknowledged, then stores the
 * signature through the same checks as an imported one.
 * @throws SigningRefusedError `safe.unacknowledged_danger`; InvalidInputError `safe.wrong_owner` (the signer is not an owner);
 *   ConflictError `safe.duplicate_signer`, `safe.proposal_closed`, `safe.nonce_used`; and those of {@link addSafeSignature}
 */
export async function signSafeProposal(
  ctx: ServiceContext,
  params: { readonly safe: string; readonly id: string | number; readonly signer: SafeTxSigner; readonly acknowledged?: readonly string[] },
): Promise<StoredSignature> {
  const safe = await getStoredSafe(ctx, params.safe);
  const review = await reviewSafeProposal(ctx, { safe: safe.name, id: params.id });
  const p = review.proposal;
  assertOpen(p);
  assertReviewAcknowledged(review, params.acknowledged ?? []);
  const clients = await openSafeClients(safe);
  const live = await liveOwners(ctx, safe, p, clients);
  const signer = getAddress(params.signer.address);
  if (!live.owners.some((o) => isAddressEqual(o, signer))) {
    throw new InvalidInputError('safe.wrong_owner', `${signer} is not an owner of Safe '${safe.name}' (${safe.address})`, { hint: 'check the keystore and --index: `mofn key eth-address` shows its address' });
  }
  if (review.signatures.some((s) => isAddressEqual(s.owner, signer))) {
    throw new ConflictError('safe.duplicate_signer', `${signer} has already signed proposal ${p.id}`, { details: { signer } });
  }
  const sig = await params.signer.signSafeTx({ chainId: safe.chainId, safeAddress: safe.address }, p.tx);
  return verifyAndStore(ctx, safe, p, sig, 'keystore', 'cli');
}

/**
 * The EIP-712 typed data of a proposal as JSON for eth_signTypedData_v4 (hardware wallets, other
 * software): EIP712Domain spelled out, integers as decimal strings.
 * @throws NotFoundError `safe.not_found`, `safe.proposal_not_found`
 */
export async function getSafeTypedDataJson(ctx: ServiceContext, params: { readonly safe: string; readonly id: string | number }): Promise<{ readonly typedData: Record<string, unknown>; readonly safeTxHash: Hex }> {
  const review = await reviewSafeProposal(ctx, params);
  return Object.freeze({ typedData: safeTypedDataJson({ chainId: review.safe.chainId, safeAddress: review.safe.address }, review.tx), safeTxHash: review.safeTxHash });
}

/** The eth_signTypedData_v4 JSON of a SafeTx: EIP712Domain spelled out, integers as decimal strings. */
export function safeTypedDataJson(domain: SafeDomain, tx: SafeTx): Record<string, unknown> {
  return {
    types: {
      EIP712Domain: [
        { name: 'chainId', type: 'uint256' },
        { name: 'verifyingContract', type: 'address' },
      ],
      SafeTx: SAFE_TX_TYPES.SafeTx,
    },
    primaryType: 'SafeTx',
    domain: { chainId: domain.chainId, verifyingContract: domain.safeAddress },
    message: safeTxToJson(tx),
  };
}

/** The stored signatures of a proposal, as SafeSignatures labelled with their context. */
export async function storedSignatures(ctx: ServiceContext, safe: StoredSafe, p: SafeProposal): Promise<SafeSignature[]> {
  const rows = await ctx.db.selectFrom('safe_signatures').selectAll().where('safe_tx_hash', '=', p.safeTxHash).execute();
  return rows.map((r) => ({ signer: getAddress(r.owner), data: r.signature as Hex, chainId: safe.chainId, safeAddress: safe.address, safeTxHash: p.safeTxHash }));
}

export { assertOpen as assertProposalOpen };
