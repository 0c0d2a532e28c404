/**
 * The review of a stored proposal: the SafeTx decoded, what it moves, its danger flags, and the SafeTx
 * hash and domain separator a cosigner compares with their signing device. Computed from the stored
 * SafeTx by mofn itself; nothing here trusts what the proposer said it does.
 */
import { formatEther, formatUnits, getAddress, isAddressEqual, type Address, type Hex } from 'viem';
import { SigningRefusedError } from '@mofn/core';
import type { ReviewOutput, ReviewWarning } from '@mofn/core';
import { getSafeDomainSeparator, getSafeTxHash, reviewSafeTx, type DecodedCall, type SafeTx } from '@mofn/ethereum';
import type { ServiceContext } from '../context.ts';
import { getSafeProposal, getStoredSafe, listProposalRows, type SafeProposal, type StoredSafe } from './records.ts';

/**
 * Danger flags the service adds to those of @mofn/ethereum's review: paying an address this Safe has
 * never paid (by an executed proposal) is how address-poisoning and swapped-clipboard thefts succeed.
 */
export const SAFE_SERVICE_DANGER_CODES = Object.freeze({
  'safe.new_recipient': 'pays an address this Safe has never paid before',
} as const);

/** A stored signature as shown in a review. */
export interface SafeSignatureView {
  readonly owner: Address;
  readonly kind: string;
  readonly source: string;
  readonly createdAt: string;
}

/** Everything a cosigner reviews before signing. */
export interface SafeProposalReview {
  readonly safe: StoredSafe;
  readonly proposal: SafeProposal;
  readonly tx: SafeTx;
  /** Recomputed from `tx` (never read from the proposer). */
  readonly safeTxHash: Hex;
  readonly domainSeparator: Hex;
  readonly call: DecodedCall;
  readonly outputs: readonly ReviewOutput[];
  readonly warnings: readonly ReviewWarning[];
  /** Codes that must each be acknowledged to sign. */
  readonly dangers: readonly string[];
  /** One line saying what the proposal does. */
  readonly summary: string;
  readonly signatures: readonly SafeSignatureView[];
  /** The threshold as last read from the chain. */
  readonly threshold: number;
}

function describe(p: SafeProposal, safe: StoredSafe, call: DecodedCall): string {
  const tx = p.tx;
  switch (p.kind) {
    case 'eth':
      return `send ${formatEther(tx.value)} ETH (${tx.value} wei) to ${tx.to}`;
    case 'erc20': {
      if (call.kind === 'erc20' && p.meta.token !== undefined) {
        const amount = call.args['amount'] as bigint;
        return `transfer ${formatUnits(amount, p.meta.token.decimals)} ${p.meta.token.symbol} (${amount} units of token ${p.meta.token.address}) to ${String(call.args['to'])}`;
      }
      return `ERC-20 call to ${tx.to}`;
    }
    case 'call':
      return `call ${p.meta.function ?? '?'} on ${tx.to}${tx.value > 0n ? ` with ${formatEther(tx.value)} ETH` : ''}, arguments ${(p.meta.args ?? []).join(', ')}`;
    case 'batch':
      return `batch of ${call.kind === 'multisend' ? call.calls.length : '?'} calls through MultiSendCallOnly`;
    case 'reject':
      return `reject: use nonce ${tx.nonce} doing nothing, cancelling every other proposal at it`;
    default:
      if (call.kind === 'safe_admin') {
        const args = Object.entries(call.args).map(([k, v]) => `${k} ${typeof v === 'bigint' ? v.toString() : v}`);
        return `${call.method} on Safe ${safe.address}: ${args.join(', ')}`;
      }
      return `${p.kind} on Safe ${safe.address}`;
  }
}

/** Addresses this Safe has paid through executed proposals (ETH or ERC-20 outputs). */
function paidBefore(safe: StoredSafe, proposals: readonly SafeProposal[]): Address[] {
  const out: Address[] = [];
  for (const p of proposals) {
    if (p.state !== 'executed') continue;
    for (const o of reviewSafeTx(p.tx, { safeAddress: safe.address, threshold: safe.threshold }).outputs) {
      if (!o.isChange && !out.some((a) => isAddressEqual(a, o.to as Address))) out.push(getAddress(o.to));
    }
  }
  return out;
}

/**
 * Reviews proposal `id` (number or safeTxHash prefix) of Safe `safe`. Reads only the store.
 * @throws NotFoundError `safe.not_found`, `safe.proposal_not_found`; InvalidInputError `safe.bad_proposal_id`
 */
export async function reviewSafeProposal(ctx: ServiceContext, params: { readonly safe: string; readonly id: string | number }): Promise<SafeProposalReview> {
  const safe = await getStoredSafe(ctx, params.safe);
  const proposal = await getSafeProposal(ctx.db, safe.name, params.id);
  const domain = { chainId: safe.chainId, safeAddress: safe.address };
  const safeTxHash = getSafeTxHash(domain, proposal.tx);
  const base = reviewSafeTx(proposal.tx, { safeAddress: safe.address, threshold: safe.threshold });
  const warnings: ReviewWarning[] = [...base.warnings];
  const dangers: string[] = [...base.dangers];
  const known = paidBefore(safe, await listProposalRows(ctx.db, safe.name));
  for (const o of base.outputs) {
    if (o.isChange || known.some((a) => isAddressEqual(a, o.to as Address))) continue;
    warnings.push(Object.freeze({ code: 'safe.new_recipient', message: `${getAddress(o.to)} has never been paid by this Safe: check it character by character with the recipient` }));
    if (!dangers.includes('safe.new_recipient')) dangers.push('safe.new_recipient');
  }
  const sigRows = await ctx.db.selectFrom('safe_signatures').selectAll().where('safe_tx_hash', '=', proposal.safeTxHash).orderBy('owner').execute();
  return Object.freeze({
    safe,
    proposal,
    tx: proposal.tx,
    safeTxHash,
    domainSeparator: getSafeDomainSeparator(domain),
    call: base.call,
    outputs: base.outputs,
    warnings: Object.freeze(warnings),
    dangers: Object.freeze(dangers),
    summary: describe(proposal, safe, base.call),
    signatures: Object.freeze(sigRows.map((r) => Object.freeze({ owner: getAddress(r.owner), kind: r.kind, source: r.source, createdAt: r.created_at }))),
    threshold: safe.threshold,
  });
}

/**
 * Refuses to go on unless every danger code of the review is acknowledged.
 * @throws SigningRefusedError `safe.unacknowledged_danger` with `details.codes`
 */
export function assertReviewAcknowledged(review: Pick<SafeProposalReview, 'dangers' | 'warnings'>, acknowledged: readonly string[]): void {
  const missing = review.dangers.filter((code) => !acknowledged.includes(code));
  if (missing.length > 0) {
    throw new SigningRefusedError('safe.unacknowledged_danger', `this Safe transaction needs an explicit acknowledgement of: ${missing.join(', ')}`, {
      details: { codes: missing },
      hint: `read each warning in the review, then acknowledge it by code to sign (${missing.map((c) => `--ack ${c}`).join(' ')})`,
    });
  }
}
