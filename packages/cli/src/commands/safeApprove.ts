/**
 * `mofn safe approve-hash`: an owner approves a proposal's safeTxHash on chain (Safe `approveHash`, for
 * owners whose key cannot sign EIP-712, or who prefer an on-chain record), then records the approved-hash
 * signature (r = owner, s = 0, v = 1) locally or on the coordinator.
 */
import { ConflictError, InvalidInputError } from '@mofn/core';
import { SAFE_ABI, approveSafeTxHash, createEvmClients, encodeApprovedHashSignature, readSafe, type EvmClients, type SafeDomain, type SafeTx } from '@mofn/ethereum';
import { addSafeSignature, assertReviewAcknowledged, openSafeClients, reviewSafeProposal, type SafeSender } from '@mofn/service';
import { deriveEthereumAccount } from '@mofn/signers';
import { withStore } from '../context.ts';
import { toJson, type Io } from '../io.ts';
import { assertNoLocalRpc, parseKeyIndex, withKeystore, type ServerOption } from './safeCommon.ts';
import { assertNotSigned, assertRpcGiven, fetchForSigning, parseAdded, proposalPath, signatureBody } from './safeRemote.ts';

type Address = SafeTx['to'];
type Hex = SafeTx['data'];

/** Options of `mofn safe approve-hash`. */
export interface ApproveHashOptions extends ServerOption {
  fromKeystore: string;
  index: string;
  rpc?: string;
  ack: string[];
  json?: boolean;
}

/**
 * Sends approveHash(safeTxHash) from `account` unless that owner approved it already, after checking
 * on chain that it is an owner and that the nonce is still open. Returns the transaction, or null.
 * @throws InvalidInputError `safe.wrong_owner`; ConflictError `safe.nonce_used`; MofnError `safe.approve_failed`
 */
async function approveOnChain(clients: EvmClients, p: { domain: SafeDomain; safeTxHash: Hex; nonce: bigint; owner: Address; account: SafeSender }): Promise<Hex | null> {
  const { safeAddress } = p.domain;
  const state = await readSafe(clients, safeAddress);
  // Safe.sol lets only owners approve (GS030): refuse before paying for a revert.
  if (!state.owners.some((o) => o.toLowerCase() === p.owner.toLowerCase())) {
    throw new InvalidInputError('safe.wrong_owner', `${p.owner} is not an owner of Safe ${safeAddress} on chain ${p.domain.chainId}`, { hint: 'check --from-keystore and --index: `mofn key eth-address` shows its address' });
  }
  if (p.nonce < state.nonce) {
    throw new ConflictError('safe.nonce_used', `nonce ${p.nonce} of Safe ${safeAddress} is already used (current nonce ${state.nonce}): this proposal can never execute`, { details: { nonce: p.nonce, current: state.nonce } });
  }
  const approved = await clients.public.readContract({ address: safeAddress, abi: SAFE_ABI, functionName: 'approvedHashes', args: [p.owner, p.safeTxHash] });
  // An approval outlives a failed upload: running the command again records it without paying twice.
  if (approved !== 0n) return null;
  return approveSafeTxHash(clients, { safeAddress, safeTxHash: p.safeTxHash, account: p.account });
}

function printApproved(io: Io, owner: Address, approveTxHash: Hex | null, added: { count: number; threshold: number; safeTxHash: string }, json: boolean | undefined): void {
  if (json) {
    io.out(toJson({ owner, kind: 'approved_hash', approveTxHash, ...added }));
    return;
  }
  io.out(`hash approved by ${owner} ${approveTxHash === null ? '(already on chain)' : `in tx ${approveTxHash}`}: ${added.count} of ${added.threshold} signature(s) (safeTxHash ${added.safeTxHash})`);
}

/** Local mode: the stored Safe's RPC URL; the signature is stored through addSafeSignature, which checks approvedHashes on chain. */
export async function approveHashLocal(io: Io, name: string, id: string, opts: ApproveHashOptions): Promise<void> {
  assertNoLocalRpc(opts.rpc);
  const index = parseKeyIndex(opts.index);
  const review = await withStore((ctx) => reviewSafeProposal(ctx, { safe: name, id }));
  const p = review.proposal;
  if (p.state !== 'open') throw new ConflictError('safe.proposal_closed', `proposal ${p.id} is ${p.state}: it can no longer be signed or executed`, { details: { state: p.state } });
  // Acknowledgement is checked before the password is asked, as for `sign`.
  assertReviewAcknowledged(review, opts.ack);
  const domain: SafeDomain = { chainId: review.safe.chainId, safeAddress: review.safe.address };
  const clients = await openSafeClients(review.safe);
  const { owner, approveTxHash } = await withKeystore(opts.fromKeystore, async (unlocked) => {
    const account = deriveEthereumAccount(unlocked, index);
    if (review.signatures.some((s) => s.owner.toLowerCase() === account.address.toLowerCase())) {
      throw new ConflictError('safe.duplicate_signer', `${account.address} has already signed proposal ${p.id}`, { details: { signer: account.address } });
    }
    return { owner: account.address, approveTxHash: await approveOnChain(clients, { domain, safeTxHash: review.safeTxHash, nonce: p.nonce, owner: account.address, account }) };
  });
  const signature = { signer: owner, data: encodeApprovedHashSignature(owner), chainId: domain.chainId, safeAddress: domain.safeAddress, safeTxHash: review.safeTxHash };
  const stored = await withStore((ctx) => addSafeSignature(ctx, { safe: name, id: p.id, signature }));
  printApproved(io, owner, approveTxHash, stored, opts.json);
}

/** Remote mode: the proposal is checked here, approved through --rpc, and the signature uploaded (the coordinator checks approvedHashes). */
export async function approveHashRemote(io: Io, name: string, id: string, opts: ApproveHashOptions): Promise<void> {
  assertRpcGiven(opts.rpc, 'approve-hash');
  const rpc = opts.rpc;
  const index = parseKeyIndex(opts.index);
  const { api, c } = await fetchForSigning(io, name, id, opts);
  const clients = await createEvmClients(rpc, c.domain.chainId);
  const { owner, approveTxHash } = await withKeystore(opts.fromKeystore, async (unlocked) => {
    const account = deriveEthereumAccount(unlocked, index);
    assertNotSigned(c, account.address);
    // The hash approved is the one computed here, never one the coordinator names.
    return { owner: account.address, approveTxHash: await approveOnChain(clients, { domain: c.domain, safeTxHash: c.safeTxHash, nonce: c.tx.nonce, owner: account.address, account }) };
  });
  const { body } = await api.post<unknown>(`${proposalPath(name, String(c.view.id))}/signatures`, signatureBody(c, { signer: owner, data: encodeApprovedHashSignature(owner) }));
  printApproved(io, owner, approveTxHash, parseAdded(body), opts.json);
}
