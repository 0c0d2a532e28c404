/** Executing a proposal: its stored signatures, re-verified, sorted, simulated with eth_call, then sent. */
import { isAddressEqual, type Hex } from 'viem';
import { ConflictError, NotReadyError } from '@mofn/core';
import { executeSafeTx, readSafe } from '@mofn/ethereum';
import type { ServiceContext } from '../context.ts';
import { getSafeProposal, getStoredSafe, openSafeClients } from './records.ts';
import { closeNonce, refreshSafeQueue } from './queue.ts';
import { refreshStoredSafe, resolveSender, type SafeSender } from './safes.ts';
import { assertProposalOpen, storedSignatures } from './signatures.ts';

/** Result of {@link executeSafeProposal}. */
export interface SafeProposalExecution {
  readonly id: number;
  readonly safeTxHash: Hex;
  /** The Ethereum transaction that ran execTransaction. */
  readonly txHash: Hex;
  readonly gasEstimate: bigint;
  readonly gasUsed: bigint;
  readonly blockNumber: bigint;
  /** Proposals at the same nonce, now superseded. */
  readonly superseded: readonly number[];
}

/**
 * Executes proposal `id` from `sender` (default: the node's first unlocked account). Nothing is sent
 * unless the nonce is the Safe's current one, the stored signatures of current owners reach the
 * threshold, and the eth_call simulation succeeds; gas is estimated, not guessed.
 * @throws NotReadyError `safe.not_enough_signatures`; ConflictError `safe.proposal_closed`, `safe.nonce_used`,
 *   `safe.wrong_nonce` (an earlier nonce is still open); MofnError `safe.simulation_failed`, `safe.execution_failed`, `safe.no_sender`
 */
export async function executeSafeProposal(ctx: ServiceContext, params: { readonly safe: string; readonly id: string | number; readonly sender?: SafeSender }): Promise<SafeProposalExecution> {
  const safe = await getStoredSafe(ctx, params.safe);
  const p = await getSafeProposal(ctx.db, safe.name, params.id);
  assertProposalOpen(p);
  const clients = await openSafeClients(safe);
  const state = await readSafe(clients, safe.address);
  if (p.nonce < state.nonce) {
    await refreshSafeQueue(ctx, safe, clients, state.nonce);
    throw new ConflictError('safe.nonce_used', `nonce ${p.nonce} of Safe '${safe.name}' is already used (current nonce ${state.nonce})`, { details: { nonce: p.nonce, current: state.nonce } });
  }
  if (p.nonce > state.nonce) {
    throw new ConflictError('safe.wrong_nonce', `proposal ${p.id} is at nonce ${p.nonce}; the Safe is at nonce ${state.nonce}, which must execute (or be rejected) first`, {
      details: { nonce: p.nonce, current: state.nonce },
    });
  }
  // A signature by an owner removed since it was stored no longer counts: Safe.sol would refuse it (GS026).
  const signatures = (await storedSignatures(ctx, safe, p)).filter((s) => state.owners.some((o) => isAddressEqual(o, s.signer)));
  if (signatures.length < state.threshold) {
    throw new NotReadyError('safe.not_enough_signatures', `proposal ${p.id} has ${signatures.length} valid owner signature(s), the Safe needs ${state.threshold}: nothing was sent`, {
      details: { have: signatures.length, need: state.threshold },
      hint: `collect ${state.threshold - signatures.length} more owner signature(s) (mofn safe sign / add-signature)`,
    });
  }
  const account = await resolveSender(clients, params.sender);
  const done = await executeSafeTx(clients, { safeAddress: safe.address, tx: p.tx, signatures, account });
  const superseded = await closeNonce(ctx, safe, p.nonce, p.safeTxHash, { txHash: done.txHash, gasUsed: done.gasUsed }, 'cli');
  // Owner and threshold changes take effect now: keep the stored view in step.
  await refreshStoredSafe(ctx, safe, clients);
  return Object.freeze({ id: p.id, safeTxHash: done.safeTxHash, txHash: done.txHash, gasEstimate: done.gasEstimate, gasUsed: done.gasUsed, blockNumber: done.blockNumber, superseded: Object.freeze(superseded) });
}
