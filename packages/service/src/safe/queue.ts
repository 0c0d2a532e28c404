/**
 * The nonce queue of a Safe: proposals grouped by nonce. Exactly one SafeTx can ever run at a nonce;
 * once the Safe's nonce has passed it, the one that executed is `executed` and the others `superseded`.
 */
import type { Hex } from 'viem';
import { findExecutedSafeTxHashes, readSafe, type EvmClients } from '@mofn/ethereum';
import type { ServiceContext } from '../context.ts';
import { changeSafe, getStoredSafe, listProposalRows, openSafeClients, type SafeProposal, type StoredSafe } from './records.ts';

/**
 * Closes open proposals whose nonce the Safe has used: the one whose safeTxHash the Safe logged as
 * executed (ExecutionSuccess) becomes `executed`, the rest `superseded`. Returns every proposal after.
 */
export async function refreshSafeQueue(ctx: ServiceContext, safe: StoredSafe, clients: EvmClients, chainNonce: bigint, actor = 'system'): Promise<SafeProposal[]> {
  const all = await listProposalRows(ctx.db, safe.name);
  const stale = all.filter((p) => isLive(p) && p.nonce < chainNonce);
  if (stale.length === 0) return all;
  const executed = new Set((await findExecutedSafeTxHashes(clients, { safeAddress: safe.address, safeTxHashes: stale.map((p) => p.safeTxHash) })).map((h) => h.toLowerCase()));
  await changeSafe(ctx, safe, actor, async ({ trx, at }, record) => {
    for (const p of stale) {
      const ran = executed.has(p.safeTxHash.toLowerCase());
      const r = await trx
        .updateTable('safe_proposals')
        .set({ state: ran ? 'executed' : 'superseded', updated_at: at })
        .where('safe_tx_hash', '=', p.safeTxHash)
        .where('state', 'in', ['open', 'broadcast'])
        .executeTakeFirst();
      // Another instance may have closed it first: record only what this transaction changed.
      if (r.numUpdatedRows === 0n) continue;
      if (ran) await record('safe.proposal_executed', { proposal: p.id, safeTxHash: p.safeTxHash, nonce: p.nonce.toString(), execTxHash: p.execTxHash }, 'proposal.confirmed');
      else await record('safe.proposal_superseded', { proposal: p.id, safeTxHash: p.safeTxHash, nonce: p.nonce.toString() }, 'proposal.superseded');
    }
  });
  return listProposalRows(ctx.db, safe.name);
}

/** True while a proposal can still execute: open, or sent and not yet seen mined. */
export function isLive(p: Pick<SafeProposal, 'state'>): boolean {
  return p.state === 'open' || p.state === 'broadcast';
}

/** Marks `safeTxHash` executed and every other live proposal of the Safe at `nonce` superseded; returns the superseded ids. */
export async function closeNonce(
  ctx: ServiceContext,
  safe: Pick<StoredSafe, 'name' | 'walletId'>,
  nonce: bigint,
  safeTxHash: Hex,
  exec: { readonly txHash: Hex; readonly gasUsed: bigint },
  actor = 'system',
): Promise<number[]> {
  return changeSafe(ctx, safe, actor, async ({ trx, at }, record) => {
    const target = await trx.selectFrom('safe_proposals').select(['seq', 'state']).where('safe_tx_hash', '=', safeTxHash).executeTakeFirst();
    if (target !== undefined && target.state !== 'executed') {
      await trx.updateTable('safe_proposals').set({ state: 'executed', exec_tx_hash: exec.txHash, gas_used: exec.gasUsed.toString(), updated_at: at }).where('safe_tx_hash', '=', safeTxHash).execute();
      await record('safe.proposal_executed', { proposal: target.seq, safeTxHash, nonce: nonce.toString(), execTxHash: exec.txHash, gasUsed: exec.gasUsed.toString() }, 'proposal.confirmed');
    }
    const others = await trx
      .selectFrom('safe_proposals')
      .select(['seq', 'safe_tx_hash'])
      .where('safe_name', '=', safe.name)
      .where('nonce', '=', nonce.toString())
      .where('state', 'in', ['open', 'broadcast'])
      .where('safe_tx_hash', '!=', safeTxHash)
      .execute();
    for (const o of others) {
      await trx.updateTable('safe_proposals').set({ state: 'superseded', updated_at: at }).where('safe_tx_hash', '=', o.safe_tx_hash).execute();
      await record('safe.proposal_superseded', { proposal: o.seq, safeTxHash: o.safe_tx_hash, nonce: nonce.toString(), by: safeTxHash }, 'proposal.superseded');
    }
    return others.map((o) => o.seq);
  });
}

/** One nonce of the queue. */
export interface SafeNonceGroup {
  readonly nonce: bigint;
  /** `stale` (used), `next` (can execute now) or `queued`. */
  readonly status: 'stale' | 'next' | 'queued';
  readonly proposals: readonly (SafeProposal & { readonly signatures: number })[];
}

/**
 * The Safe's proposals per nonce, after closing the nonces the chain has used (when `refresh`, default true).
 * @throws NotFoundError `safe.not_found`; MofnError from the chain reads when refreshing
 */
export async function listSafeProposals(ctx: ServiceContext, name: string, options: { readonly refresh?: boolean } = {}): Promise<{ readonly nonce: bigint | undefined; readonly threshold: number; readonly groups: readonly SafeNonceGroup[] }> {
  const safe = await getStoredSafe(ctx, name);
  let chainNonce: bigint | undefined;
  let proposals: SafeProposal[];
  let threshold = safe.threshold;
  if (options.refresh ?? true) {
    const clients = await openSafeClients(safe);
    const state = await readSafe(clients, safe.address);
    chainNonce = state.nonce;
    threshold = state.threshold;
    proposals = await refreshSafeQueue(ctx, safe, clients, state.nonce);
  } else {
    proposals = await listProposalRows(ctx.db, safe.name);
  }
  const counts = await ctx.db
    .selectFrom('safe_signatures')
    .innerJoin('safe_proposals', 'safe_proposals.safe_tx_hash', 'safe_signatures.safe_tx_hash')
    .select(['safe_signatures.safe_tx_hash as hash', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('safe_proposals.safe_name', '=', name)
    .groupBy('safe_signatures.safe_tx_hash')
    .execute();
  const countOf = new Map(counts.map((c) => [c.hash, Number(c.n)]));
  const groups: SafeNonceGroup[] = [];
  for (const p of proposals) {
    let group = groups.find((g) => g.nonce === p.nonce);
    if (group === undefined) {
      const status = chainNonce === undefined ? 'queued' : p.nonce < chainNonce ? 'stale' : p.nonce === chainNonce ? 'next' : 'queued';
      group = { nonce: p.nonce, status, proposals: [] };
      groups.push(group);
    }
    (group.proposals as (SafeProposal & { signatures: number })[]).push({ ...p, signatures: countOf.get(p.safeTxHash) ?? 0 });
  }
  return Object.freeze({ nonce: chainNonce, threshold, groups: Object.freeze(groups) });
}
